/** Names of the column places: `ones`, `tens`, … (beyond the table, `10^k`). */
const PLACE_NAMES = [
  'ones',
  'tens',
  'hundreds',
  'thousands',
  'ten-thousands',
  'hundred-thousands',
  'millions',
  'ten-millions',
  'hundred-millions',
  'billions',
  'ten-billions',
  'hundred-billions',
  'trillions',
];

/** Name of a place (0 = ones); beyond the table, `10^k`. */
export function placeName(place: number): string {
  return PLACE_NAMES[place] ?? `10^${place}`;
}

/** The place a name stands for, or null. */
export function placeOfName(name: string): number | null {
  const i = PLACE_NAMES.indexOf(name);
  if (i >= 0) return i;
  const m = /^10\^(\d+)$/.exec(name);
  return m ? Number(m[1]) : null;
}
