/**
 * The keys of a JSON object's top level, in order and with repeats. `JSON.parse` silently keeps the last of
 * two equal keys; a file format that must not be ambiguous (the safetensors header) checks for repeats here.
 * Call only on text that `JSON.parse` accepted and whose top level is an object.
 */
export function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let i = 0;
  const n = json.length;
  while (i < n) {
    const c = json.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (j < n && json.charCodeAt(j) !== 0x22) j += json.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (k < n && isJsonSpace(json.charCodeAt(k))) k++;
        if (json.charCodeAt(k) === 0x3a /* : */) keys.push(JSON.parse(json.slice(i, j + 1)) as string);
      }
      i = j + 1;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) depth++;
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
    i++;
  }
  return keys;
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
