/** Runs the `lm` command line as a child process, the way the CLI tests need it. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../fixtures/paths.ts';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tsx src/cli/lm.ts …` (what `npm run lm` maps to), or `npm run -s lm -- …` when asked. */
export function lm(args: string[], viaNpm = false): Promise<Run> {
  const [cmd, argv] = viaNpm ? ['npm', ['run', '-s', 'lm', '--', ...args]] : [join(REPO_ROOT, 'node_modules/.bin/tsx'), ['src/cli/lm.ts', ...args]];
  return new Promise((resolve) => {
    execFile(cmd, argv, { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr.replace(/^npm warn.*\n/gm, '') });
    });
  });
}
