// Placeholder until the `serve` command lands: registers the name so the CLI builds.
import type { Command } from 'commander';
import { CliExit, type CliIO } from '../io.ts';

export function registerServeCommand(program: Command, _io: CliIO): void {
  program
    .command('serve')
    .description('(not built yet)')
    .action(() => {
      throw new CliExit(1, 'bugzapp serve is not built yet');
    });
}
