import { ConfigError } from '@gatehouse/contracts';
import { Command, CommanderError } from 'commander';
import { registerBrokerCommands } from './commands/broker.js';
import { registerComponentCommands } from './commands/components.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDetectCommand } from './commands/detect.js';
import { registerModbusCommands } from './commands/modbus.js';
import { registerUsersCommands } from './commands/users.js';
import { CLI_VERSION } from './version.js';

// Output piped into `head` and closed early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command('gatehouse')
  .description('Gatehouse: edge gateway and cloud service for the IoT side of property management')
  .version(CLI_VERSION)
  .showHelpAfterError();

registerDemoCommand(program);
registerComponentCommands(program);
registerModbusCommands(program);
registerBrokerCommands(program);
registerUsersCommands(program);
registerDetectCommand(program);

program.exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  // A config problem is the user's to fix: say what is wrong, without a stack trace.
  const message = err instanceof ConfigError ? err.message : `gatehouse: ${(err as Error).message}`;
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
