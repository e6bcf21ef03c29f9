// Placeholder until the `load` command lands: registers the name so the CLI builds.
import type { Command } from 'commander';
import { CliExit, type CliIO } from '../io.ts';

export function registerLoadCommand(program: Command, _io: CliIO): void {
  program
    .command('load')
    .description('(not built yet)')
    .action(() => {
      throw new CliExit(1, 'bugzapp load is not built yet');
    });
}
