import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command in its own process and collects its output. */
export function runProcess(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  cwd?: string,
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs a TypeScript file under tsx in its own process and collects its output. */
export function runTsx(
  file: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<ProcessResult> {
  return runProcess(process.execPath, ['--import', 'tsx', file, ...args], env);
}

/** Runs `pgsched …` (the TypeScript source) with DATABASE_URL unset unless given. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<ProcessResult> {
  return runTsx(CLI, args, { DATABASE_URL: undefined, ...env });
}
