/**
 * The tabs of an experiment's page, in order. Each is a component that receives the experiment.
 * To add one, write the component and add ONE line to EXPERIMENT_TABS, e.g.
 *   { id: 'playground', label: 'Playground', component: PlaygroundTab },
 * Its URL is then #/experiments/<id>/<tab id>.
 */
import type { Component } from 'svelte';
import type { Experiment } from '../../db/types.ts';
import OverviewTab from './OverviewTab.svelte';
import ExperimentSettingsTab from './ExperimentSettingsTab.svelte';
import PlaygroundTab from '../playground/PlaygroundTab.svelte';
import TasksTab from '../tasks/TasksTab.svelte';
import SelfTab from '../self/SelfTab.svelte';
import SamplesTab from '../samples/SamplesTab.svelte';
import TrainingTab from '../training/TrainingTab.svelte';
import AdaptersTab from '../adapters/AdaptersTab.svelte';
import SrtTab from '../srt/SrtTab.svelte';
import EvaluationTab from '../evaluation/EvaluationTab.svelte';

export interface ExperimentTabProps {
  experiment: Experiment;
}

export interface ExperimentTab {
  id: string;
  label: string;
  component: Component<ExperimentTabProps>;
}

export const EXPERIMENT_TABS: ExperimentTab[] = [
  { id: 'overview', label: 'Overview', component: OverviewTab },
  { id: 'tasks', label: 'Tasks', component: TasksTab },
  { id: 'playground', label: 'Playground', component: PlaygroundTab },
  { id: 'samples', label: 'Samples', component: SamplesTab },
  { id: 'training', label: 'Training', component: TrainingTab },
  { id: 'adapters', label: 'Adapters', component: AdaptersTab },
  { id: 'self', label: 'SELF', component: SelfTab },
  { id: 'srt', label: 'SRT', component: SrtTab },
  { id: 'evaluation', label: 'Evaluation', component: EvaluationTab },
  { id: 'settings', label: 'Settings', component: ExperimentSettingsTab },
];

export function findTab(id: string | null): ExperimentTab {
  return EXPERIMENT_TABS.find((t) => t.id === id) ?? EXPERIMENT_TABS[0];
}
