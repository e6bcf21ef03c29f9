// Placeholder until the `token` command lands: registers the name so the CLI builds.
import type { Command } from 'commander';
import { CliExit, type CliIO } from '../io.ts';

export function registerTokenCommand(program: Command, _io: CliIO): void {
  program
    .command('token')
    .description('(not built yet)')
    .action(() => {
      throw new CliExit(1, 'bugzapp token is not built yet');
    });
}
