import type { GatewayConfig, ModbusDeviceConfig } from '../config.js';
import type { DeviceDriver, DriverContext } from './driver.js';
import { ModbusConnection, type ModbusTransport } from './modbus/modbus-connection.js';
import { ModbusDeviceDriver } from './modbus/modbus-device-driver.js';
import { BUILT_IN_PROFILE_DIR, loadProfiles } from './modbus/profile.js';
import { OsdpDoorDriver } from './osdp/osdp-door-driver.js';
import { lineKey, OsdpLine, type OsdpLineTarget } from './osdp/osdp-line.js';
import { OnvifCameraDriver } from './onvif/onvif-camera-driver.js';
import { IsapiPanelDriver } from './isapi/isapi-panel-driver.js';

function modbusTransport(device: ModbusDeviceConfig): ModbusTransport {
  switch (device.driver) {
    case 'modbus+tcp':
      return { kind: 'tcp', host: device.host, port: device.port };
    case 'modbus+rtu-over-tcp':
      return { kind: 'rtu-over-tcp', host: device.host, port: device.port };
    case 'modbus+rtu':
      return { kind: 'rtu', path: device.serialPort, baudRate: device.baudRate, parity: device.parity, dataBits: device.dataBits, stopBits: device.stopBits };
  }
}

function linkKey(t: ModbusTransport): string {
  return t.kind === 'rtu' ? `rtu:${t.path}` : `${t.kind}:${t.host}:${t.port}`;
}

/**
 * Builds the driver of every configured device, by its driver scheme. Devices on the same Modbus link
 * (one TCP endpoint, or one serial port) share one connection and its transaction queue.
 */
export function createDrivers(config: GatewayConfig, ctx: DriverContext): { drivers: DeviceDriver[]; counterMetrics: Map<string, Set<string>>; close: () => Promise<void> } {
  const counterMetrics = new Map<string, Set<string>>();
  const profiles = loadProfiles([BUILT_IN_PROFILE_DIR, ...config.profileDirs]);
  const connections = new Map<string, ModbusConnection>();
  const osdpLines = new Map<string, OsdpLine>();
  const drivers: DeviceDriver[] = [];

  config.devices.forEach((device, index) => {
    if (device.driver === 'osdp+tcp' || device.driver === 'osdp+serial') {
      // Readers multi-dropped on one RS-485 pair share its line (one converter port, one serial port).
      const target: OsdpLineTarget = device.driver === 'osdp+tcp' ? { kind: 'tcp', host: device.host, port: device.port } : { kind: 'serial', path: device.serialPort, baudRate: device.baudRate };
      const key = lineKey(target);
      let line = osdpLines.get(key);
      if (!line) {
        line = new OsdpLine(target, {
          replyTimeoutMs: device.replyTimeoutMs,
          useCrc: device.useCrc,
          logger: ctx.logger,
          onBadFrame: (reason, detail) => {
            ctx.metrics.protocolErrors.inc({ protocol: 'osdp', reason });
            ctx.logger.warn({ line: key, reason, detail }, 'OSDP frame refused');
          },
        });
        osdpLines.set(key, line);
      }
      drivers.push(new OsdpDoorDriver(device, ctx, line));
      return;
    }
    if (device.driver === 'isapi') {
      drivers.push(new IsapiPanelDriver(device, ctx));
      return;
    }
    if (device.driver === 'onvif') {
      drivers.push(new OnvifCameraDriver(device, ctx));
      return;
    }
    const profile = profiles.get(device.profile);
    if (!profile) {
      throw new Error(`devices[${index}].profile: unknown profile "${device.profile}" (known: ${[...profiles.keys()].sort().join(', ')})`);
    }
    counterMetrics.set(device.id, new Set(profile.points.filter((p) => p.kind === 'counter').map((p) => p.metric)));
    const transport = modbusTransport(device);
    const key = linkKey(transport);
    let connection = connections.get(key);
    if (!connection) {
      connection = new ModbusConnection({ transport, concurrency: config.modbus.tcpConcurrency, reconnectDelayMs: config.modbus.reconnectDelayMs, logger: ctx.logger });
      connections.set(key, connection);
    }
    drivers.push(
      new ModbusDeviceDriver(
        {
          id: device.id,
          name: device.name,
          scheme: device.driver,
          unitId: device.unitId,
          intervalMs: device.intervalMs,
          timeoutMs: device.timeoutMs ?? config.modbus.timeoutMs,
          retries: device.retries ?? config.modbus.retries,
          maxGap: config.modbus.maxGap,
          backoff: config.modbus.backoff,
          staleAfterPolls: config.modbus.staleAfterPolls,
          counterLimits: device.counterLimits,
          ratios: device.ratios,
        },
        profile,
        connection,
        ctx,
      ),
    );
  });

  return {
    drivers,
    counterMetrics,
    close: async () => {
      await Promise.all([...connections.values()].map((c) => c.close()));
    },
  };
}
