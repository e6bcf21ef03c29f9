// The exit codes every command shares: 0 for help and version, 2 for usage errors.
import { describe, expect, it } from 'vitest';
import { ExitCode, runCli } from '../../src/cli/index.ts';
import { captureIO } from '../helpers/cli.ts';

async function run(args: string[]) {
  const c = captureIO();
  const code = await runCli(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

describe('CLI exit codes', () => {
  it('exits 0 for --help and --version', async () => {
    expect((await run(['--help'])).code).toBe(ExitCode.Ok);
    expect((await run(['fire', '--help'])).code).toBe(ExitCode.Ok);
    const v = await run(['--version']);
    expect(v.code).toBe(ExitCode.Ok);
    expect(v.out).toMatch(/^\d+\.\d+\.\d+/);
  });
  it('exits 2 for an unknown command or option, and names it', async () => {
    const a = await run(['frobnicate']);
    expect(a.code).toBe(ExitCode.Usage);
    expect(a.err).toMatch(/frobnicate/);
    const b = await run(['token', '--user', '1', '--bogus']);
    expect(b.code).toBe(ExitCode.Usage);
    expect(b.err).toMatch(/--bogus/);
  });
  it('exits 2 when a command that needs a subcommand gets none (regression: it exited 0)', async () => {
    const r = await run(['fire']);
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.err + r.out).toMatch(/bug-report/);
  });
});
