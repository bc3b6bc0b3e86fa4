import type { GatewayConfig } from '../config.js';
import type { DeviceDriver, DriverContext } from './driver.js';
import { ModbusDeviceDriver } from './modbus/modbus-device-driver.js';
import { ModbusTcpConnection } from './modbus/modbus-tcp-connection.js';
import { BUILT_IN_PROFILE_DIR, loadProfiles } from './modbus/profile.js';

/**
 * Builds the driver of every configured device, by its driver scheme. Devices behind the same Modbus
 * TCP endpoint share one connection.
 */
export function createDrivers(config: GatewayConfig, ctx: DriverContext): { drivers: DeviceDriver[]; close: () => Promise<void> } {
  const profiles = loadProfiles([BUILT_IN_PROFILE_DIR, ...config.profileDirs]);
  const connections = new Map<string, ModbusTcpConnection>();
  const drivers: DeviceDriver[] = [];

  config.devices.forEach((device, index) => {
    switch (device.driver) {
      case 'modbus+tcp': {
        const profile = profiles.get(device.profile);
        if (!profile) {
          throw new Error(`devices[${index}].profile: unknown profile "${device.profile}" (known: ${[...profiles.keys()].join(', ')})`);
        }
        const key = `${device.host}:${device.port}`;
        let connection = connections.get(key);
        if (!connection) {
          connection = new ModbusTcpConnection({
            host: device.host,
            port: device.port,
            timeoutMs: config.modbus.timeoutMs,
            reconnectDelayMs: config.modbus.reconnectDelayMs,
            logger: ctx.logger,
          });
          connections.set(key, connection);
        }
        drivers.push(
          new ModbusDeviceDriver(
            { id: device.id, name: device.name, unitId: device.unitId, intervalMs: device.intervalMs, maxGap: config.modbus.maxGap, scheme: device.driver },
            profile,
            connection,
            ctx,
          ),
        );
        break;
      }
    }
  });

  return {
    drivers,
    close: async () => {
      await Promise.all([...connections.values()].map((c) => c.close()));
    },
  };
}
