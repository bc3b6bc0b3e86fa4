"""An independent Modbus TCP server for interoperability tests (pymodbus, from Debian).

Usage: python3 pymodbus_server.py PORT SPEC_JSON
SPEC_JSON: [{"address": 0, "type": "float32", "order": "CDAB", "value": 123.456}, ...]
Values are encoded here with Python's struct module, independently of the gateway and the simulator,
into holding registers (FC03) and input registers (FC04) alike.
"""
import json
import struct
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartTcpServer

FORMATS = {
    "int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I",
    "int64": ">q", "uint64": ">Q", "float32": ">f", "float64": ">d",
}


def registers(value, type_, order):
    big_endian = struct.pack(FORMATS[type_], value)
    if order in ("BADC", "DCBA"):
        big_endian = b"".join(big_endian[i + 1:i + 2] + big_endian[i:i + 1] for i in range(0, len(big_endian), 2))
    words = [int.from_bytes(big_endian[i:i + 2], "big") for i in range(0, len(big_endian), 2)]
    if order in ("CDAB", "DCBA"):
        words.reverse()
    return words


def main():
    port = int(sys.argv[1])
    spec = json.loads(sys.argv[2])
    memory = [0] * 1024
    for point in spec:
        for i, word in enumerate(registers(point["value"], point["type"], point["order"])):
            memory[point["address"] + i] = word
    # pymodbus 3.0 blocks are addressed from 1 internally: start the block at 1 so address 0 is memory[0].
    store = ModbusSlaveContext(
        hr=ModbusSequentialDataBlock(1, memory),
        ir=ModbusSequentialDataBlock(1, memory),
        zero_mode=False,
    )
    context = ModbusServerContext(slaves=store, single=True)
    StartTcpServer(context=context, address=("127.0.0.1", port))


if __name__ == "__main__":
    main()
