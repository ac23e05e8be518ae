import { assignSplit } from './split.ts';
import type { Task } from './types.ts';

/** The project's own open-ended prompts: no checker; judged by a model (pairwise, with order swapping). */
type Row = [id: string, topic: string, prompt: string];

const ROWS: Row[] = [
  ['open-001', 'advice', 'A friend is nervous about speaking in front of their class next week. What practical advice would you give them?'],
  ['open-002', 'explain', 'Explain why the sky looks blue during the day and red at sunset, for someone with no science background.'],
  ['open-003', 'writing', 'Write a short story about a robot who learns to bake bread.'],
  ['open-004', 'compare', 'Compare living in a big city with living in a small village. Which would you choose, and why?'],
  ['open-005', 'plan', 'Plan a relaxing one-day trip to the seaside for a family with two young children.'],
  ['open-006', 'explain', 'How does a refrigerator keep food cold? Explain the main idea simply.'],
  ['open-007', 'opinion', 'Should schools start later in the morning? Give arguments on both sides and your conclusion.'],
  ['open-008', 'writing', 'Write a friendly email to a new neighbour introducing yourself.'],
  ['open-009', 'advice', 'What are good habits for keeping a small houseplant alive?'],
  ['open-010', 'explain', 'What is the difference between weather and climate?'],
  ['open-011', 'creative', 'Invent a new board game and explain its rules.'],
  ['open-012', 'summary', 'Describe the main stages in the life of a butterfly.'],
  ['open-013', 'advice', 'How can someone save money on groceries without eating worse?'],
  ['open-014', 'explain', 'Why do we have seasons on Earth?'],
  ['open-015', 'writing', 'Write a short speech to thank volunteers who cleaned up a local park.'],
  ['open-016', 'plan', 'Suggest a weekly exercise plan for a beginner who has 30 minutes a day.'],
  ['open-017', 'explain', 'How do vaccines help the body fight disease?'],
  ['open-018', 'creative', 'Describe a city of the future where cars no longer exist.'],
  ['open-019', 'opinion', 'Is it better to read books on paper or on a screen? Explain your view.'],
  ['open-020', 'advice', 'How should a team decide on a fair way to split household chores?'],
  ['open-021', 'explain', 'What does a compass do, and why does it point north?'],
  ['open-022', 'writing', 'Write a product description for a reusable water bottle.'],
  ['open-023', 'summary', 'Explain how a bill becomes a law in a typical parliament, in plain language.'],
  ['open-024', 'creative', 'Write a dialogue between the sun and the moon about who is more important.'],
  ['open-025', 'advice', 'How can a beginner start learning to draw?'],
  ['open-026', 'explain', 'Why does ice float on water?'],
  ['open-027', 'plan', 'Plan a small birthday party for a ten-year-old on a tight budget.'],
  ['open-028', 'opinion', 'What makes a good teacher? Give examples.'],
  ['open-029', 'explain', 'How do bees make honey?'],
  ['open-030', 'writing', 'Write a review of an imaginary restaurant that serves only soup.'],
  ['open-031', 'advice', 'What should someone consider before adopting a dog?'],
  ['open-032', 'explain', 'What is recycling, and why does it matter?'],
];

export const OPEN_TASKS: readonly Task[] = ROWS.map(([id, topic, prompt]) => ({
  id,
  kind: 'open',
  prompt,
  topic,
  split: assignSplit(id),
  source: 'builtin',
}));
