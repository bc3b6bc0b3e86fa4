import { startCloud, loadCloudConfig } from '@gatehouse/cloud';
import { loadGatewayConfig, startGateway } from '@gatehouse/edge';
import { loadSimulatorConfig, startSimulatedSite } from '@gatehouse/firmware-sim';
import type { Command } from 'commander';
import { createLogger } from '../logger.js';
import { runUntilSignal } from '../run-until-signal.js';

/** `gatehouse edge|cloud|sim --config F`: one component on its own, as deployed in production. */
export function registerComponentCommands(program: Command): void {
  program
    .command('edge')
    .description('run an edge gateway: poll its devices and publish to the broker')
    .requiredOption('-c, --config <file>', 'gateway config (YAML), e.g. examples/site-in-a-box/edge.yaml')
    .action(async (options: { config: string }) => {
      const config = loadGatewayConfig(options.config);
      const logger = createLogger();
      const gateway = await startGateway(config, logger);
      runUntilSignal(() => gateway.stop(), logger);
    });

  program
    .command('cloud')
    .description('run the cloud service: MQTT ingest, storage and the HTTP API')
    .requiredOption('-c, --config <file>', 'cloud config (YAML), e.g. examples/site-in-a-box/cloud.yaml')
    .action(async (options: { config: string }) => {
      const config = loadCloudConfig(options.config);
      const logger = createLogger();
      const cloud = await startCloud(config, logger);
      runUntilSignal(() => cloud.stop(), logger);
    });

  program
    .command('sim')
    .description('run simulated devices (meters) that speak the real protocols')
    .requiredOption('-c, --config <file>', 'simulator config (YAML), e.g. examples/site-in-a-box/sim.yaml')
    .action(async (options: { config: string }) => {
      const config = loadSimulatorConfig(options.config);
      const logger = createLogger();
      const site = await startSimulatedSite(config, { logger });
      runUntilSignal(() => site.stop(), logger);
    });
}
