import {
  BUILT_IN_PROFILE_DIR,
  createGatewayMetrics,
  decodeRaw,
  loadProfiles,
  ModbusConnection,
  ModbusDeviceDriver,
  ModbusReadError,
  REGISTER_TYPES,
  registerCount,
  WORD_ORDERS,
  type ModbusTransport,
  type RegisterFunction,
  type RegisterType,
} from '@gatehouse/edge';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';

interface LinkOptions {
  host?: string;
  port: number;
  unit: number;
  serial?: string;
  baud: number;
  parity: 'none' | 'even' | 'odd';
  rtuOverTcp?: boolean;
  timeout: number;
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = /^0x[0-9a-f]+$/i.test(value) ? Number.parseInt(value, 16) : Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer ${min}-${max} (decimal or 0x hex)`);
    return n;
  };
}

function addLinkOptions(command: Command): Command {
  return command
    .option('--host <host>', 'Modbus TCP host (or serial device server, with --rtu-over-tcp)')
    .option('--port <port>', 'TCP port', integer('--port', 1, 65535), 502)
    .option('--rtu-over-tcp', 'send RTU frames over the TCP connection (serial device servers in transparent mode)')
    .option('--serial <device>', 'serial port for Modbus RTU, e.g. /dev/ttyUSB0')
    .option('--baud <rate>', 'serial baud rate', integer('--baud', 300, 921_600), 9600)
    .addOption(new Option('--parity <parity>', 'serial parity').choices(['none', 'even', 'odd']).default('none'))
    .requiredOption('--unit <id>', 'unit (slave) id', integer('--unit', 0, 255))
    .option('--timeout <ms>', 'answer timeout', integer('--timeout', 50, 60_000), 1000);
}

function transportOf(o: LinkOptions): ModbusTransport {
  if (o.serial) return { kind: 'rtu', path: o.serial, baudRate: o.baud, parity: o.parity, dataBits: 8, stopBits: 1 };
  if (!o.host) throw new Error('give --host (Modbus TCP) or --serial (Modbus RTU)');
  return o.rtuOverTcp ? { kind: 'rtu-over-tcp', host: o.host, port: o.port } : { kind: 'tcp', host: o.host, port: o.port };
}

const quietLogger = pino({ level: 'silent' });

function connect(o: LinkOptions): ModbusConnection {
  return new ModbusConnection({ transport: transportOf(o), concurrency: 1, reconnectDelayMs: 0, logger: quietLogger });
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function formatValue(value: number | null): string {
  if (value === null) return '—';
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(10)));
}

/** `gatehouse modbus read|probe`: commissioning a meter by hand. */
export function registerModbusCommands(program: Command): void {
  const modbus = program.command('modbus').description('commission Modbus devices: read a device once with a profile, or probe a register');

  addLinkOptions(
    modbus
      .command('read')
      .description('read every point of a device profile once and print it')
      .requiredOption('--profile <id>', 'device profile id, e.g. eastron-sdm630')
      .option('--profile-dir <dir...>', 'extra directories of profiles (YAML)', [])
      .option('--json', 'one JSON object per point per line'),
  ).action(async (o: LinkOptions & { profile: string; profileDir: string[]; json?: boolean }) => {
    const profiles = loadProfiles([BUILT_IN_PROFILE_DIR, ...o.profileDir]);
    const profile = profiles.get(o.profile);
    if (!profile) throw new Error(`unknown profile "${o.profile}"; known: ${[...profiles.keys()].sort().join(', ')}`);
    const connection = connect(o);
    const driver = new ModbusDeviceDriver(
      { id: `unit-${o.unit}`, scheme: 'modbus', unitId: o.unit, intervalMs: 1000, timeoutMs: o.timeout, retries: 0, maxGap: 16, backoff: { initialMs: 1000, maxMs: 1000 }, staleAfterPolls: 1_000_000 },
      profile,
      connection,
      { logger: quietLogger, metrics: createGatewayMetrics(), sink: { readings: () => undefined, event: () => undefined } },
    );
    try {
      const readings = await driver.pollOnce();
      if (o.json) {
        for (const r of readings) out(JSON.stringify({ metric: r.metric, value: r.value, unit: r.unit, quality: r.quality, ...(r.detail ? { detail: r.detail } : {}), ts: r.ts }));
      } else {
        out(`${profile.manufacturer} ${profile.model} (${profile.id}), unit ${o.unit}, ${driver.plan.length} reads`);
        const width = Math.max(...readings.map((r) => r.metric.length));
        for (const r of readings) {
          out(`  ${r.metric.padEnd(width)}  ${formatValue(r.value).padStart(16)} ${r.unit.padEnd(5)} ${r.quality}${r.detail ? ` (${r.detail})` : ''}`);
        }
      }
      if (!readings.some((r) => r.quality === 'good')) process.exitCode = 1;
    } finally {
      await connection.close();
    }
  });

  addLinkOptions(
    modbus
      .command('probe')
      .description('read one register and show it decoded in all four word/byte orders, to find a meter\'s layout')
      .requiredOption('--address <address>', '0-based register address (decimal or 0x hex)', integer('--address', 0, 0xffff))
      .addOption(new Option('--type <type>', 'value type').choices(REGISTER_TYPES.filter((t) => t !== 'bool')).default('float32'))
      .addOption(new Option('--function <function>', 'register table').choices(['holding', 'input']).default('holding'))
      .option('--json', 'print one JSON object'),
  ).action(async (o: LinkOptions & { address: number; type: Exclude<RegisterType, 'bool'>; function: RegisterFunction; json?: boolean }) => {
    const connection = connect(o);
    try {
      const words = await connection.read({ unitId: o.unit, fn: o.function, address: o.address, length: registerCount(o.type), timeoutMs: o.timeout });
      const decoded = Object.fromEntries(WORD_ORDERS.map((order) => [order, decodeRaw(words, o.type, order)]));
      if (o.json) {
        out(JSON.stringify({ address: o.address, function: o.function, type: o.type, registers: words, decoded }));
        return;
      }
      out(`${o.function} register ${o.address} (0x${o.address.toString(16).padStart(4, '0')}), ${o.type}: ${words.map((w) => `0x${w.toString(16).padStart(4, '0')}`).join(' ')}`);
      for (const order of WORD_ORDERS) out(`  ${order}  ${formatValue(decoded[order] ?? null)}`);
    } catch (err) {
      if (!(err instanceof ModbusReadError)) throw err;
      let hint = '';
      if (!err.deviceUnreachable) {
        // The commonest commissioning mistake: the register is there, in the other table.
        const other: RegisterFunction = o.function === 'holding' ? 'input' : 'holding';
        const found = await connection.read({ unitId: o.unit, fn: other, address: o.address, length: registerCount(o.type), timeoutMs: o.timeout }).then(
          () => true,
          () => false,
        );
        if (found) hint = `; it answers as ${other === 'input' ? 'an input' : 'a holding'} register: try --function ${other}`;
      }
      throw new Error(`cannot read ${o.function} register ${o.address} of unit ${o.unit}: ${err.message}${hint}`);
    } finally {
      await connection.close();
    }
  });
}
