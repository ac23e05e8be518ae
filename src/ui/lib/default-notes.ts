/**
 * A default explained in one line, for a settings form: the setting, its value, and why this value. `keys` names
 * the fields of the settings object the line covers (a test checks that every field of the defaults is covered).
 */
export interface DefaultNote {
  setting: string;
  value: string;
  why: string;
  keys: readonly string[];
}

/** "1e-3" style for small rates, plain digits otherwise. */
export function numberText(v: number): string {
  return v !== 0 && Math.abs(v) < 0.01 ? v.toExponential().replace('e-', 'e−') : String(v);
}

export const onOff = (v: boolean): string => (v ? 'on' : 'off');
