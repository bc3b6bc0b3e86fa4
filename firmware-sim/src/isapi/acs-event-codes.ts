/**
 * Hikvision access-control log codes (the NET_DVR_ACS_ALARM_INFO / AcsEvent major and minor types)
 * the simulated panel produces. Majors: 1 alarm, 2 exception, 3 operation, 5 event. Minors as the
 * vendor's SDK headers number them; listed here only for what a door on this panel can do.
 */
export const ACS_MAJOR = { alarm: 0x1, exception: 0x2, operation: 0x3, event: 0x5 } as const;

export const ACS_MINOR = {
  /** major 5 (event) */
  validCard: 0x01,
  cardNoPermission: 0x06,
  cardInvalidPeriod: 0x07,
  cardExpired: 0x08,
  cardNotExist: 0x09,
  doorUnlocked: 0x15,
  doorLocked: 0x16,
  exitButtonPressed: 0x17,
  doorOpenNormal: 0x19,
  doorClosedNormal: 0x1a,
  /** the door contact opened while the lock was closed */
  doorOpenAbnormal: 0x1b,
  /** the door stayed open past its open duration */
  doorOpenTimeout: 0x1c,
  /** major 1 (alarm) */
  hostTamper: 0x404,
  readerTamper: 0x406,
  /** duress card or duress code */
  duress: 0x40a,
  /** major 3 (operation) */
  remoteOpenDoor: 0x400,
  remoteCloseDoor: 0x401,
  remoteAlwaysOpen: 0x402,
  remoteAlwaysClose: 0x403,
} as const;
