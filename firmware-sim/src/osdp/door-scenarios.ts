import type { Logger } from 'pino';
import type { SimulatedPeripheral } from './osdp-peripheral.js';

export const DOOR_SCENARIOS = ['card_granted', 'card_denied', 'door_forced', 'door_held_open', 'exit', 'tamper', 'reader_offline'] as const;
export type DoorScenario = (typeof DOOR_SCENARIOS)[number];

export interface DoorScenarioOptions {
  /** the raw data of a card the door accepts, and of one it does not */
  enrolledCard: Buffer;
  unknownCard: Buffer;
  /** how long the door stays open in the held-open scenario (longer than the door's heldOpenMs) */
  heldOpenMs: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/**
 * What happens at a simulated door, one scenario at a time: a resident badging in, a stranger's card,
 * a door forced, a door held open, someone leaving with the exit button, the reader's tamper switch,
 * the reader falling silent (a cut cable, a power loss) for longer than a control panel tolerates.
 */
export async function playDoorScenario(peripheral: SimulatedPeripheral, scenario: DoorScenario, options: DoorScenarioOptions, logger?: Logger): Promise<void> {
  logger?.info({ door: peripheral.address, scenario }, 'simulated door scenario');
  switch (scenario) {
    case 'card_granted':
      peripheral.presentCard(options.enrolledCard);
      await sleep(800);
      peripheral.setDoorOpen(true);
      await sleep(2500);
      peripheral.setDoorOpen(false);
      return;
    case 'card_denied':
      peripheral.presentCard(options.unknownCard);
      return;
    case 'door_forced':
      peripheral.setDoorOpen(true);
      await sleep(4000);
      peripheral.setDoorOpen(false);
      return;
    case 'door_held_open':
      peripheral.presentCard(options.enrolledCard);
      await sleep(800);
      peripheral.setDoorOpen(true);
      await sleep(options.heldOpenMs);
      peripheral.setDoorOpen(false);
      return;
    case 'exit':
      peripheral.pressExitButton();
      await sleep(500);
      peripheral.setDoorOpen(true);
      await sleep(2000);
      peripheral.setDoorOpen(false);
      return;
    case 'tamper':
      peripheral.setTamper(true);
      await sleep(5000);
      peripheral.setTamper(false);
      return;
    case 'reader_offline':
      // Longer than a control panel's 8 s: the reader is reported offline, then back.
      peripheral.goSilent(12_000);
      return;
  }
}
