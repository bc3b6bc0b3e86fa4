import type { Command } from 'commander';
import { createLogger } from '../logger.js';
import { runUntilSignal } from '../run-until-signal.js';

/**
 * `gatehouse edge|cloud|sim --config F`: one component on its own, as deployed in production. Each
 * loads only its own package: a gateway process carries no database or HTTP framework code.
 */
export function registerComponentCommands(program: Command): void {
  program
    .command('edge')
    .description('run an edge gateway: poll its devices and publish to the broker')
    .requiredOption('-c, --config <file>', 'gateway config (YAML), e.g. examples/site-in-a-box/edge.yaml')
    .action(async (options: { config: string }) => {
      const { loadGatewayConfig, startGateway } = await import('@gatehouse/edge');
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
      const { loadCloudConfig, startCloud } = await import('@gatehouse/cloud');
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
      const { loadSimulatorConfig, startSimulatedSite } = await import('@gatehouse/firmware-sim');
      const config = loadSimulatorConfig(options.config);
      const logger = createLogger();
      const site = await startSimulatedSite(config, { logger });
      runUntilSignal(() => site.stop(), logger);
    });
}
