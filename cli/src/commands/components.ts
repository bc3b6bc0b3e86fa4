import type { Command } from 'commander';
import type { Logger } from 'pino';
import { createLogger } from '../logger.js';
import { runUntilSignal } from '../run-until-signal.js';

interface Component {
  name: string;
  description: string;
  example: string;
  /** loads the config file and starts the component; imports only the component's own package */
  start: (configFile: string, logger: Logger) => Promise<{ stop(): Promise<void> }>;
}

/**
 * `gatehouse edge|cloud|sim --config F`: one component on its own, as deployed in production. Each
 * loads only its own package: a gateway process carries no database or HTTP framework code.
 */
const COMPONENTS: Component[] = [
  {
    name: 'edge',
    description: 'run an edge gateway: poll its devices and publish to the broker',
    example: 'examples/site-in-a-box/edge.yaml',
    start: async (file, logger) => {
      const { loadGatewayConfig, startGateway } = await import('@gatehouse/edge');
      return startGateway(loadGatewayConfig(file), logger);
    },
  },
  {
    name: 'cloud',
    description: 'run the cloud service: MQTT ingest, storage and the HTTP API',
    example: 'examples/site-in-a-box/cloud.yaml',
    start: async (file, logger) => {
      const { loadCloudConfig, startCloud } = await import('@gatehouse/cloud');
      return startCloud(loadCloudConfig(file), logger);
    },
  },
  {
    name: 'sim',
    description: 'run simulated devices (meters) that speak the real protocols',
    example: 'examples/site-in-a-box/sim.yaml',
    start: async (file, logger) => {
      const { loadSimulatorConfig, startSimulatedSite } = await import('@gatehouse/firmware-sim');
      return startSimulatedSite(loadSimulatorConfig(file), { logger });
    },
  },
];

export function registerComponentCommands(program: Command): void {
  for (const component of COMPONENTS) {
    program
      .command(component.name)
      .description(component.description)
      .requiredOption('-c, --config <file>', `config (YAML), e.g. ${component.example}`)
      .action(async (options: { config: string }) => {
        const logger = createLogger();
        const running = await component.start(options.config, logger);
        runUntilSignal(() => running.stop(), logger);
      });
  }
}
