"""grpcio client for the echo service, run through grpcscope by
python_smoke_test.cc: python_smoke.py TARGET DIR_WITH_echo_pb2 [CA_FILE].
With CA_FILE the channel speaks TLS, trusting that CA, and expects the
server certificate to name "localhost"."""
import sys

sys.path.insert(0, sys.argv[2])

import grpc  # noqa: E402
import echo_pb2  # noqa: E402

TARGET = sys.argv[1]
CA_FILE = sys.argv[3] if len(sys.argv) > 3 else None
SERVICE = "/grpcscope.test.Echo/"


def main():
    if CA_FILE:
        with open(CA_FILE, "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        channel = grpc.secure_channel(TARGET, credentials, options=(("grpc.ssl_target_name_override", "localhost"),))
    else:
        channel = grpc.insecure_channel(TARGET)
    grpc.channel_ready_future(channel).result(timeout=30)
    ser = echo_pb2.EchoRequest.SerializeToString
    de = echo_pb2.EchoResponse.FromString
    unary = channel.unary_unary(SERVICE + "Unary", request_serializer=ser, response_deserializer=de)
    client_stream = channel.stream_unary(SERVICE + "ClientStream", request_serializer=ser, response_deserializer=de)
    server_stream = channel.unary_stream(SERVICE + "ServerStream", request_serializer=ser, response_deserializer=de)
    bidi = channel.stream_stream(SERVICE + "Bidi", request_serializer=ser, response_deserializer=de)

    # Unary with metadata echoed both ways.
    resp, call = unary.with_call(
        echo_pb2.EchoRequest(payload=b"py" * 1000, echo_metadata=True),
        metadata=(("x-echo-py", "value"), ("x-echo-raw-bin", b"\x00\xff\x10")),
        timeout=30,
    )
    assert resp.payload == b"py" * 1000, "unary payload"
    initial = dict(call.initial_metadata())
    trailing = dict(call.trailing_metadata())
    assert initial.get("x-echo-py") == "value", initial
    assert initial.get("x-echo-raw-bin") == b"\x00\xff\x10", initial
    assert trailing.get("x-echo-py-trailer") == "value", trailing
    assert trailing.get("x-echo-raw-trailer-bin") == b"\x00\xff\x10", trailing

    # A non-OK status with a message.
    try:
        unary(echo_pb2.EchoRequest(status_code=5, status_message="not here"), timeout=30)
        raise AssertionError("expected NOT_FOUND")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.NOT_FOUND, e.code()
        assert e.details() == "not here", e.details()

    # Client streaming.
    resp = client_stream(iter([echo_pb2.EchoRequest(payload=b"x" * n) for n in (1, 10, 100, 1000)]), timeout=30)
    assert resp.requests_seen == 4 and resp.request_bytes_seen == 1111, resp

    # Server streaming.
    got = list(server_stream(echo_pb2.EchoRequest(response_count=20, response_size=5000), timeout=30))
    assert [r.sequence for r in got] == list(range(20)), [r.sequence for r in got]
    assert all(len(r.payload) == 5000 for r in got)

    # Bidi.
    got = list(bidi(iter([echo_pb2.EchoRequest(payload=bytes([i]) * 10) for i in range(10)]), timeout=30))
    assert [r.payload for r in got] == [bytes([i]) * 10 for i in range(10)]

    # A large response: 3 MiB, under grpcio's default 4 MiB receive limit.
    resp = unary(echo_pb2.EchoRequest(response_size=3 << 20), timeout=60)
    assert len(resp.payload) == 3 << 20

    print("python smoke: ok" + (" (TLS)" if CA_FILE else ""))


if __name__ == "__main__":
    main()
