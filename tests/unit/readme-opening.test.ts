/**
 * The README's opening block: one command per line (install, then start; install, then test), the paragraph on
 * what to do when port 5173 is taken, and CI (.ci/run) running the same test commands as the README.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
/** What comes before the first section heading. */
const opening = readme.slice(0, readme.search(/^## /m));

/** The fenced code blocks of a Markdown text, in order, each as its lines. */
function codeBlocks(md: string): { lang: string; lines: string[] }[] {
  return [...md.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], lines: m[2].split('\n').filter((l) => l.trim() !== '') }));
}

describe('the README opening block', () => {
  const blocks = codeBlocks(opening);

  it('has two bash blocks, one command per line: npm ci / npm start, then npm ci / npm test', () => {
    expect(blocks).toEqual([
      { lang: 'bash', lines: ['npm ci', 'npm start'] },
      { lang: 'bash', lines: ['npm ci', 'npm test'] },
    ]);
  });

  it('says what to do when port 5173 is taken, between the start and the test commands', () => {
    const between = opening.slice(opening.indexOf('npm start'), opening.indexOf('npm test'));
    const paragraph = between.split(/\n\s*\n/).find((p) => p.includes('5173'));
    expect(paragraph, 'a paragraph naming port 5173').toBeDefined();
    expect(paragraph).toMatch(/If\s+port\s+5173\s+is\s+taken/);
    expect(paragraph).toMatch(/next free port/);
    expect(paragraph).toMatch(/`npx vite --port \d+`/);
  });

  it('names scripts that package.json has', () => {
    const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
    expect(scripts.start).toBeTruthy();
    expect(scripts.test).toBeTruthy();
  });
});

describe('.ci/run', () => {
  it('runs the README test block, command for command', () => {
    const script = readFileSync(join(root, '.ci/run'), 'utf8');
    const commands = script
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#') && !/^(set|cd)\s/.test(l))
      .flatMap((l) => l.split('&&').map((c) => c.trim()));
    expect(commands).toEqual(codeBlocks(opening)[1].lines);
  });
});
