import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@gatehouse/contracts';
import { loadGatewayConfig, loadProfileFile } from '@gatehouse/edge';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));

function write(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'gh-edge-')), name);
  writeFileSync(file, text);
  return file;
}

describe('gateway config', () => {
  it('accepts the shipped examples', () => {
    const demo = loadGatewayConfig(join(examples, 'site-in-a-box/edge.yaml'));
    expect(demo.devices.map((d) => d.driver).sort()).toEqual(['isapi', ...Array(6).fill('modbus+tcp'), 'onvif', 'onvif', 'osdp+tcp']);
    expect(demo.videoLinkage.links).toEqual([
      { device: 'door-lobby', cameras: ['cam-lobby'] },
      { device: 'gate-carpark', door: '1', cameras: ['cam-carpark'] },
    ]);
    expect(loadGatewayConfig(join(examples, 'production/edge-mosquitto.yaml')).mqtt.url).toBe('mqtt://127.0.0.1:1883');
  });

  it('names the file, the path and what was expected', () => {
    const file = write(
      'edge.yaml',
      ['site: demo', 'gateway: gw-01', 'mqtt: { url: "tcp://broker" }', 'devices:', '  - { id: m1, driver: modbus+tcp, host: 10.0.0.5, port: 70000, profile: eastron-sdm630 }', '  - { id: m1, driver: bacnet, host: x, profile: y }', ''].join('\n'),
    );
    let error: ConfigError | undefined;
    try {
      loadGatewayConfig(file);
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toContain(`invalid config ${file}`);
    expect(error?.problems).toEqual([
      { path: 'mqtt.url', line: 3, message: 'expected mqtt://host:port or mqtts://host:port' },
      { path: 'devices[0].port', line: 5, message: 'Too big: expected number to be <=65535' },
      { path: 'devices[1].driver', line: 6, message: "Invalid discriminator value. Expected 'modbus+tcp' | 'modbus+rtu-over-tcp' | 'modbus+rtu' | 'osdp+tcp' | 'osdp+serial' | 'isapi' | 'onvif'" },
    ]);
  });

  it('names the file and line of a Modbus device whose profile does not exist', () => {
    const file = write(
      'edge.yaml',
      ['site: demo', 'gateway: gw-01', 'mqtt: { url: "mqtt://b:1883" }', 'devices:', '  - { id: m1, driver: modbus+tcp, host: 10.0.0.5, port: 502, profile: eastron-sdm630 }', '  - id: m2', '    driver: modbus+tcp', '    host: 10.0.0.6', '    profile: eastron-sdm360', ''].join('\n'),
    );
    let error: ConfigError | undefined;
    try {
      loadGatewayConfig(file);
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error?.message).toContain(`invalid config ${file}`);
    expect(error?.problems).toEqual([{ path: 'devices[1].profile', line: 9, message: expect.stringMatching(/^unknown profile "eastron-sdm360" \(known: .*eastron-sdm630/) }]);
  });

  it('refuses unknown keys, so a typo is not silently ignored', () => {
    const file = write('edge.yaml', 'site: demo\ngateway: gw-01\nmqtt: { url: "mqtt://b:1883" }\ndevises: []\ndevices: []\n');
    expect(() => loadGatewayConfig(file)).toThrow(/\(root\) \(line 1\): Unrecognized key: "devises"|devices: Too small/);
  });

  it('checks an OSDP door: its address and its enrolled cards', () => {
    const file = write(
      'edge.yaml',
      'site: demo\ngateway: gw-01\nmqtt: { url: "mqtt://b:1883" }\ndevices:\n  - { id: d1, driver: osdp+tcp, host: a, port: 4001, address: 127, door: { cards: [12G4] } }\n',
    );
    expect(() => loadGatewayConfig(file)).toThrow(/devices\[0\]\.address \(line 5\): Too big: expected number to be <=126/);
    expect(() => loadGatewayConfig(file)).toThrow(/devices\[0\]\.door\.cards\[0\] \(line 5\): expected the card data as hex, e.g. 12345640/);
  });

  it("checks an OSDP door's secure channel keys", () => {
    const both = write(
      'edge.yaml',
      'site: demo\ngateway: gw-01\nmqtt: { url: "mqtt://b:1883" }\ndevices:\n  - { id: d1, driver: osdp+tcp, host: a, port: 4001, address: 1, secureChannel: { scbk: 000102030405060708090a0b0c0d0e0f, masterKey: 000102030405060708090a0b0c0d0e0f } }\n',
    );
    expect(() => loadGatewayConfig(both)).toThrow(/devices\[0\]\.secureChannel \(line 5\): expected exactly one of scbk \(the peripheral key\) or masterKey/);
    const short = write('edge.yaml', 'site: demo\ngateway: gw-01\nmqtt: { url: "mqtt://b:1883" }\ndevices:\n  - { id: d1, driver: osdp+tcp, host: a, port: 4001, address: 1, secureChannel: { scbk: "0011" } }\n');
    expect(() => loadGatewayConfig(short)).toThrow(/devices\[0\]\.secureChannel\.scbk \(line 5\): expected a 16-byte AES key as 32 hex digits/);
  });

  it('checks that video links join doors and cameras that exist', () => {
    const file = write(
      'edge.yaml',
      'site: demo\ngateway: gw-01\nmqtt: { url: "mqtt://b:1883" }\ndevices:\n  - { id: d1, driver: osdp+tcp, host: a, port: 4001, address: 1 }\n  - { id: m1, driver: modbus+tcp, host: b, profile: p }\nvideoLinkage:\n  links:\n    - { device: m1, cameras: [cam-9, d1] }\n',
    );
    expect(() => loadGatewayConfig(file)).toThrow(/videoLinkage\.links\[0\]\.device \(line 9\): "m1" \(driver modbus\+tcp\) is not a door/);
    expect(() => loadGatewayConfig(file)).toThrow(/videoLinkage\.links\[0\]\.cameras\[0\] \(line 9\): no camera "cam-9" among the devices/);
    expect(() => loadGatewayConfig(file)).toThrow(/videoLinkage\.links\[0\]\.cameras\[1\] \(line 9\): "d1" \(driver osdp\+tcp\) is not a camera/);
  });

  it('refuses a device id used twice', () => {
    const file = write(
      'edge.yaml',
      'site: demo\ngateway: gw-01\nmqtt: { url: "mqtt://b:1883" }\ndevices:\n  - { id: m1, driver: modbus+tcp, host: a, profile: p }\n  - { id: m1, driver: modbus+tcp, host: b, profile: p }\n',
    );
    expect(() => loadGatewayConfig(file)).toThrow('devices[1].id (line 6): device id "m1" is used twice');
  });
});

describe('device profiles', () => {
  it('reports a bad point with its path in the profile file', () => {
    const file = write('my-meter.yaml', 'id: my-meter\nmanufacturer: X\nmodel: Y\nmeasures: electricity\npoints:\n  - { metric: power, address: 1, type: float33, unit: W, kind: gauge }\n');
    expect(() => loadProfileFile(file)).toThrow(/points\[0\]\.type \(line 6\): Invalid option: expected one of "int16"/);
  });

  it('refuses a metric defined twice', () => {
    const file = write('dup.yaml', 'id: dup\nmanufacturer: X\nmodel: Y\nmeasures: water\npoints:\n  - { metric: volume, address: 0, unit: m3, kind: counter }\n  - { metric: volume, address: 2, unit: m3, kind: counter }\n');
    expect(() => loadProfileFile(file)).toThrow('points[1].metric: metric "volume" is defined twice');
  });
});

describe('shipped deployment configs', () => {
  it('the compose topology gateway config is valid', () => {
    const config = loadGatewayConfig(join(examples, '../deploy/compose/edge.yaml'));
    expect(config.mqtt.url).toBe('mqtt://mosquitto:1883');
    expect(config.devices.every((d) => d.driver === 'modbus+tcp' && d.host === 'sim')).toBe(true);
  });
});
