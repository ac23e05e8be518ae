/** Model output, user text and imported files are rendered as text: no `{@html}` anywhere in the UI. */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../fixtures/paths.ts';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('src/ui renders text, never HTML', () => {
  const uiFiles = files(join(REPO_ROOT, 'src/ui')).filter((f) => /\.(svelte|ts)$/.test(f));

  it('finds the UI sources (the scan is not empty)', () => {
    expect(uiFiles.length).toBeGreaterThan(10);
    expect(uiFiles.some((f) => f.endsWith('App.svelte'))).toBe(true);
  });

  it('has no {@html …} tag, no innerHTML / outerHTML / insertAdjacentHTML, no document.write', () => {
    const offenders: string[] = [];
    for (const file of uiFiles) {
      const source = readFileSync(file, 'utf8');
      source.split('\n').forEach((line, i) => {
        if (/\{\s*@html\b|\binnerHTML\b|\bouterHTML\b|insertAdjacentHTML|document\.write/.test(line)) {
          offenders.push(`${relative(REPO_ROOT, file)}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    expect(offenders).toEqual([]);
  });
});
