import type { Logger } from 'pino';
import type { SimulatedIsapiPanel } from './isapi-panel.js';

export const ISAPI_PANEL_SCENARIOS = ['card_granted', 'card_denied', 'door_forced', 'door_held_open', 'exit', 'tamper', 'duress', 'panel_offline'] as const;
export type IsapiPanelScenario = (typeof ISAPI_PANEL_SCENARIOS)[number];

export interface IsapiPanelScenarioOptions {
  /** a card the panel grants, and one it does not know */
  enrolledCard: string;
  unknownCard: string;
  door?: number;
  /** how long the panel stays unreachable in the offline scenario */
  offlineMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** What happens at a panel's door, one scenario at a time, for the demo site. */
export async function playIsapiPanelScenario(panel: SimulatedIsapiPanel, scenario: IsapiPanelScenario, options: IsapiPanelScenarioOptions, logger?: Logger): Promise<void> {
  const door = options.door ?? 1;
  logger?.info({ door, scenario }, 'simulated ISAPI panel scenario');
  switch (scenario) {
    case 'card_granted':
      panel.swipeCard(options.enrolledCard, door);
      await sleep(800);
      panel.openDoorContact(door);
      await sleep(2500);
      panel.closeDoorContact(door);
      return;
    case 'card_denied':
      panel.swipeCard(options.unknownCard, door);
      return;
    case 'door_forced':
      panel.forceDoor(door);
      await sleep(4000);
      panel.closeDoorContact(door);
      return;
    case 'door_held_open':
      panel.swipeCard(options.enrolledCard, door);
      await sleep(800);
      panel.holdDoorOpen(door);
      await sleep(3000);
      panel.closeDoorContact(door);
      return;
    case 'exit':
      panel.exitButton(door);
      await sleep(500);
      panel.openDoorContact(door);
      await sleep(2000);
      panel.closeDoorContact(door);
      return;
    case 'tamper':
      panel.tamper();
      return;
    case 'duress':
      panel.duress(door);
      return;
    case 'panel_offline':
      panel.setOffline(true);
      // Events keep happening at the door while the gateway cannot reach the panel.
      panel.swipeCard(options.enrolledCard, door);
      await sleep(options.offlineMs ?? 15_000);
      panel.setOffline(false);
      return;
  }
}
