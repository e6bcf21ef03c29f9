// Placeholder until the `fire` command lands: registers the name so the CLI builds.
import type { Command } from 'commander';
import { CliExit, type CliIO } from '../io.ts';

export function registerFireCommand(program: Command, _io: CliIO): void {
  program
    .command('fire')
    .description('(not built yet)')
    .action(() => {
      throw new CliExit(1, 'bugzapp fire is not built yet');
    });
}
