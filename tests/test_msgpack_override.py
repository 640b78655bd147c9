"""The msgpack override (`[tool.uv] override-dependencies` drops `msgpack-python` 0.5.6, see SUBMODULE_VERSION_PIN.md):

1. Hyperliquid's auth (the only msgpack user in Hummingbot 20260922) hashes `msgpack.packb(action)`. Under msgpack
   1.x the bytes of an order and a cancel action are exactly the msgpack spec's encoding, written out by hand below
   (https://github.com/msgpack/msgpack/blob/master/spec.md), which is what Hyperliquid's own SDK signs.
2. Ray works: `ray.get` round-trips (with msgpack-python 0.5.6 installed over msgpack 1.x it fails with
   `Unpacker.__init__() got an unexpected keyword argument 'strict_map_key'`).
"""

import importlib.metadata

import msgpack
import pytest
from eth_utils import keccak
from hummingbot.connector.derivative.hyperliquid_perpetual.hyperliquid_perpetual_auth import HyperliquidPerpetualAuth


def s(text: str) -> bytes:
    """A str per the spec: fixstr (0xa0 | len) below 32 bytes, str8 (0xd9, len) up to 255."""
    raw = text.encode()
    return (bytes([0xA0 | len(raw)]) if len(raw) < 32 else bytes([0xD9, len(raw)])) + raw


# Hummingbot's client order id for Hyperliquid is "0x" + an md5 hex digest: 34 characters, so str8.
CLOID = "0x" + "0123456789abcdef" * 2
ORDER_ACTION = {  # the shape of HyperliquidPerpetualAuth._sign_order_params / order_spec_to_order_wire
    "type": "order",
    "orders": [
        {"a": 150, "b": True, "p": "101.25", "s": "0.5", "r": False, "t": {"limit": {"tif": "Ioc"}}, "c": CLOID}
    ],
    "grouping": "na",
}
ORDER_BYTES = (
    b"\x83"
    + s("type")
    + s("order")  # fixmap of 3
    + s("orders")
    + b"\x91"
    + b"\x87"  # fixarray of 1, fixmap of 7
    + s("a")
    + b"\xcc\x96"  # uint8 150
    + s("b")
    + b"\xc3"  # true
    + s("p")
    + s("101.25")
    + s("s")
    + s("0.5")
    + s("r")
    + b"\xc2"  # false
    + s("t")
    + b"\x81"
    + s("limit")
    + b"\x81"
    + s("tif")
    + s("Ioc")
    + s("c")
    + b"\xd9\x22"
    + CLOID.encode()  # str8 of 34 bytes
    + s("grouping")
    + s("na")
)
CANCEL_ACTION = {"type": "cancel", "cancels": [{"a": 3, "o": 123456789}]}
CANCEL_BYTES = (
    b"\x82" + s("type") + s("cancel") + s("cancels") + b"\x91\x82" + s("a") + b"\x03" + s("o") + b"\xce\x07\x5b\xcd\x15"
)  # positive fixint 3, uint32 123456789


def test_msgpack_python_is_not_installed_and_msgpack_is_1x():
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version("msgpack-python")
    assert msgpack.version >= (1, 0, 0)


def test_hand_written_vectors_follow_the_spec():
    assert ORDER_BYTES.hex().startswith("83a474797065a56f72646572a66f72646572739187")
    assert len(s(CLOID)) == 36 and s(CLOID)[:2] == b"\xd9\x22"


@pytest.mark.parametrize("action, expected", [(ORDER_ACTION, ORDER_BYTES), (CANCEL_ACTION, CANCEL_BYTES)])
def test_hyperliquid_action_bytes_are_the_spec_encoding(action, expected):
    assert msgpack.packb(action) == expected
    assert msgpack.unpackb(expected) == action


@pytest.mark.parametrize("vault", [None, "0x" + "11" * 20])
def test_hyperliquid_action_hash_signs_those_bytes(vault):
    nonce = 1_764_633_600_000
    tail = b"\x00" if vault is None else b"\x01" + bytes.fromhex(vault[2:])
    expected = keccak(ORDER_BYTES + nonce.to_bytes(8, "big") + tail)
    assert HyperliquidPerpetualAuth.action_hash(ORDER_ACTION, vault, nonce) == expected


def test_ray_get_round_trips_on_a_local_ray():
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        value = {"rates": [1, 2, 3], "name": "funding", "nested": {"b": b"\x00\x01"}}
        assert ray.get(ray.put(value)) == value
        assert ray.get(ray.remote(lambda x: {**x, "seen": True}).remote(value)) == {**value, "seen": True}
    finally:
        if started:
            ray.shutdown()
