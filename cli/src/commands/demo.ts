import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lockDataFolder } from '@gatehouse/contracts';
import type { RunningCloud } from '@gatehouse/cloud';
import type { RunningGateway } from '@gatehouse/edge';
import type { SimulatedSite } from '@gatehouse/firmware-sim';
import type { Command } from 'commander';
import { createLogger } from '../logger.js';
import { runUntilSignal } from '../run-until-signal.js';
import { takenPorts } from '../port-check.js';
import { ensureDemoAccounts, type DemoAccount } from './demo-accounts.js';

/** The demo site's configs; the same files run the components one by one. */
export const DEMO_CONFIG_DIR = fileURLToPath(new URL('../../../examples/site-in-a-box/', import.meta.url));

interface DemoOptions {
  dataDir: string;
  host: string;
  port: string;
  mqttPort: string;
  gatewayPort: string;
  modbusPort: string;
}

function parsePort(value: string, option: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`${option}: expected a port number 0-65535, got "${value}"`);
  return port;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run a whole demo site on this machine: simulated meters, gateway, embedded broker, cloud on PGlite')
    .option('--data-dir <dir>', 'where the demo keeps its database and meter state', './data')
    .option('--port <port>', 'HTTP port of the console and API (also the PORT environment variable)', process.env.PORT ?? '8080')
    .option('--host <address>', 'address the console and API listen on (0.0.0.0 to reach it from other machines)', '127.0.0.1')
    .option('--mqtt-port <port>', 'embedded MQTT broker port (1883 is left to a system broker)', '1884')
    .option('--gateway-port <port>', "gateway's /metrics and /health port", '9101')
    .option('--modbus-port <port>', 'Modbus TCP port of the simulated meters', '15020')
    .action(async (options: DemoOptions) => {
      const [{ loadCloudConfig, startCloud }, { loadGatewayConfig, startGateway }, { loadSimulatorConfig, startSimulatedSite }] = await Promise.all([
        import('@gatehouse/cloud'),
        import('@gatehouse/edge'),
        import('@gatehouse/firmware-sim'),
      ]);
      const logger = createLogger();
      const dataDir = resolve(options.dataDir);
      const httpPort = parsePort(options.port, '--port');
      const mqttPort = parsePort(options.mqttPort, '--mqtt-port');
      const modbusPort = parsePort(options.modbusPort, '--modbus-port');

      const simConfig = loadSimulatorConfig(resolve(DEMO_CONFIG_DIR, 'sim.yaml'));
      const cloudConfig = loadCloudConfig(resolve(DEMO_CONFIG_DIR, 'cloud.yaml'));
      const edgeConfig = loadGatewayConfig(resolve(DEMO_CONFIG_DIR, 'edge.yaml'));

      let sim: SimulatedSite | undefined;
      let cloud: RunningCloud | undefined;
      let gateway: RunningGateway | undefined;
      let brokerUrl = `mqtt://127.0.0.1:${mqttPort}`;
      let firstAdminPassword: string | undefined;
      let accounts: DemoAccount[] = [];
      const gatewayPort = parsePort(options.gatewayPort, '--gateway-port');
      // Before anything starts: every port checked at once, each taken one named with its option.
      const taken = await takenPorts([
        { port: httpPort, host: options.host, flag: '--port' },
        { port: mqttPort, host: '127.0.0.1', flag: '--mqtt-port' },
        { port: gatewayPort, host: '127.0.0.1', flag: '--gateway-port' },
        { port: modbusPort, host: '127.0.0.1', flag: '--modbus-port' },
      ]);
      if (taken.length > 0) throw new Error(`cannot start the demo:\n  ${taken.join('\n  ')}\nGive each another port (0 picks a free one), e.g. npm start -- ${taken.map((t) => `${/\((--[a-z-]+)\)/.exec(t)?.[1]} 0`).join(' ')}`);
      // A second demo on the same folder is refused, naming the first.
      const folderLock = lockDataFolder(dataDir, 'the demo site');
      const stop = async () => {
        await gateway?.stop();
        await sim?.stop();
        await cloud?.stop();
        folderLock.release();
      };
      try {
        sim = await startSimulatedSite(
          {
            ...simConfig,
            stateFile: resolve(dataDir, 'sim-state.json'),
            modbusTcp: simConfig.modbusTcp.map((e) => ({ ...e, port: modbusPort })),
            // The doors are the gateway's business only: any free port.
            osdpTcp: simConfig.osdpTcp.map((d) => ({ ...d, port: 0 })),
            onvifCameras: simConfig.onvifCameras.map((c) => ({ ...c, port: 0 })),
            isapiPanels: simConfig.isapiPanels.map((p) => ({ ...p, port: 0 })),
          },
          { logger: logger.child({ component: 'sim' }) },
        );
        cloud = await startCloud(
          {
            ...cloudConfig,
            http: { ...cloudConfig.http, host: options.host, port: httpPort },
            storage: { kind: 'pglite', dataDir: resolve(dataDir, 'pglite') },
            embeddedBroker: { host: '127.0.0.1', port: mqttPort },
          },
          logger,
          { onFirstAdmin: (admin) => (firstAdminPassword = admin.generatedPassword) },
        );
        brokerUrl = cloud.brokerUrl ?? brokerUrl;
        accounts = await ensureDemoAccounts(cloud, resolve(dataDir, 'demo-accounts.json'), firstAdminPassword);
        // With --modbus-port 0 the simulator picked its port; point the gateway at the one it got.
        const meterPort = sim.modbusTcp[0]?.port ?? modbusPort;
        gateway = await startGateway(
          {
            ...edgeConfig,
            dataDir: resolve(dataDir, 'edge'),
            mqtt: { ...edgeConfig.mqtt, url: brokerUrl },
            http: { ...edgeConfig.http, port: gatewayPort },
            devices: edgeConfig.devices.map((d) => {
              switch (d.driver) {
                case 'modbus+tcp':
                  return { ...d, port: meterPort };
                case 'osdp+tcp':
                  return { ...d, port: sim!.osdpTcp.find((door) => door.id === d.id)?.port ?? d.port };
                case 'isapi':
                  return { ...d, url: sim!.isapiPanels.find((p) => p.id === d.id)?.url ?? d.url };
                case 'onvif':
                  return { ...d, url: sim!.onvifCameras.find((c) => c.id === d.id)?.deviceServiceUrl ?? d.url };
                default:
                  return d;
              }
            }),
          },
          logger.child({ component: 'edge' }),
        );
      } catch (err) {
        await stop();
        throw err;
      }

      const shownHost = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host.includes(':') ? `[${options.host}]` : options.host;
      const api = `http://${shownHost}:${cloud.httpPort}`;
      const meters = sim.modbusTcp.flatMap((e) => e.meters.map((m) => `${m.id} (unit ${m.unitId})`));
      process.stdout.write(
        [
          '',
          'Gatehouse demo site is running:',
          `  simulated meters   modbus+tcp://127.0.0.1:${sim.modbusTcp[0]?.port ?? modbusPort}  ${meters.join(', ')}`,
          ...sim.osdpTcp.map((d) => `  simulated door     osdp+tcp://127.0.0.1:${d.port}  ${d.id} (address ${d.address}, secure channel), a scenario every 45 s`),
          ...sim.isapiPanels.map((p) => `  simulated panel    ${p.url}/ISAPI  ${p.id} (Hikvision ISAPI), a scenario every 50 s`),
          ...sim.onvifCameras.map((c) => `  simulated camera   ${c.deviceServiceUrl}  ${c.id}`),
          `  MQTT broker        ${brokerUrl}  (embedded)`,
          `  gateway            ${edgeConfig.site}/${edgeConfig.gateway}  metrics http://127.0.0.1:${gateway.httpPort}/metrics`,
          `  cloud storage      PGlite in ${resolve(dataDir, 'pglite')}`,
          `  HTTP API           ${api}/api/v1/health   ${api}/api/v1/openapi.json   ${api}/metrics`,
          '',
          `  Console            ${api}/`,
          ...accounts.map((a) => `    ${a.username.padEnd(16)} password ${a.password.padEnd(14)} ${a.roles.join(', ')}: ${a.what}`),
          `  (kept in ${resolve(dataDir, 'demo-accounts.json')})`,
          '',
          'Press Ctrl-C to stop.',
          '',
        ].join('\n') + '\n',
      );
      runUntilSignal(stop, logger);
    });
}
