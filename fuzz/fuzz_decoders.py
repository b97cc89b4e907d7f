"""Coverage-guided fuzzing of Surge's decoders with atheris, for runs longer than the test suite's.

    pip install atheris
    python fuzz/fuzz_decoders.py -max_total_time=600

The contract is the one the hypothesis tests check: any input raises only
RemoteProtocolError.  Anything else is a crash that atheris reports with the input.
"""

import sys

import atheris

with atheris.instrument_imports():
    from surge.protocol import eio
    from surge.protocol.errors import RemoteProtocolError
    from surge.protocol.sio import SioDecoder


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    version = 3 if fdp.ConsumeBool() else 4
    body = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 512))
    try:
        eio.decode_payload(body, version)
    except RemoteProtocolError:
        pass
    decoder = SioDecoder(max_attachments=3)
    try:
        decoder.receive_text(fdp.ConsumeUnicodeNoSurrogates(256))
        while fdp.remaining_bytes():
            decoder.receive_binary(fdp.ConsumeBytes(16))
    except RemoteProtocolError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
