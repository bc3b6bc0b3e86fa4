import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';

/** `gatehouse broker mosquitto`: Mosquitto's password and ACL files from the cloud config's accounts. */
export function registerBrokerCommands(program: Command): void {
  const broker = program.command('broker').description('MQTT broker configuration');
  broker
    .command('mosquitto')
    .description("write Mosquitto's password file, ACL file and listener settings from the cloud config's brokerAccounts")
    .requiredOption('-c, --config <file>', 'cloud config (YAML) with brokerAccounts')
    .requiredOption('--out <dir>', 'directory to write passwd, acl and gatehouse.conf into')
    .option('--port <port>', 'listener port for gatehouse.conf', '1883')
    .action(async (options: { config: string; out: string; port: string }) => {
      const { loadCloudConfig, mosquittoAclFile, mosquittoConfSnippet, mosquittoPasswordFile } = await import('@gatehouse/cloud');
      const config = loadCloudConfig(options.config);
      if (!config.brokerAccounts) throw new Error(`${options.config} has no brokerAccounts section`);
      const out = resolve(options.out);
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'passwd'), mosquittoPasswordFile(config.brokerAccounts), { mode: 0o640 });
      writeFileSync(join(out, 'acl'), mosquittoAclFile(config.brokerAccounts));
      writeFileSync(join(out, 'gatehouse.conf'), mosquittoConfSnippet({ port: Number(options.port), passwordFile: join(out, 'passwd'), aclFile: join(out, 'acl') }));
      process.stdout.write(`wrote ${join(out, 'passwd')}, ${join(out, 'acl')} and ${join(out, 'gatehouse.conf')} (${config.brokerAccounts.gateways.length} gateways)\n`);
    });
}
