// Placeholder until the `listen` command lands: registers the name so the CLI builds.
import type { Command } from 'commander';
import { CliExit, type CliIO } from '../io.ts';

export function registerListenCommand(program: Command, _io: CliIO): void {
  program
    .command('listen')
    .description('(not built yet)')
    .action(() => {
      throw new CliExit(1, 'bugzapp listen is not built yet');
    });
}
