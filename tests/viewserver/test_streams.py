"""Lines in, batched replies out: the byte-level parts of the protocol."""

import pytest

from viewserver.streams import LineReader, LogStream, Output


def reader_over(chunks: list[bytes], events: list) -> LineReader:
    pending = list(chunks)

    def read(size: int) -> bytes:
        events.append("read")
        return pending.pop(0) if pending else b""

    return LineReader(read, lambda: events.append("wait"))


@pytest.mark.parametrize(
    "chunks",
    [
        [b'["reset"]\n', b"\n", b'["a",', b'1]\n["b"]\n  \n["c"', b"]"],
        [b'["reset"]\n\n["a",1]\n', b'["b"]\n["c"]\n'],
        [b'["res', b'et"]', b'\n["a",1]\n["b"]\n["c"]'],
    ],
)
def test_lines_come_whole_however_the_input_is_cut(chunks):
    lines = list(reader_over(chunks, []))
    assert lines == [b'["reset"]', b'["a",1]', b'["b"]', b'["c"]']


def test_the_output_is_flushed_before_every_read():
    events = []
    reader = reader_over([b"1\n", b"2\n3\n"], events)
    assert [reader.readline(), reader.readline(), reader.readline()] == [
        b"1",
        b"2",
        b"3",
    ]
    assert reader.readline() is None
    assert events == ["wait", "read", "wait", "read", "wait", "read"]


def test_replies_wait_for_a_flush_and_go_in_one_write():
    writes = []
    output = Output(writes.append)
    output.send([True])
    output.send_line(b"[[]]")
    output.log("note")
    assert writes == []
    output.flush()
    output.flush()
    assert writes == [b'[true]\n[[]]\n["log","note"]\n']


def test_log_stream_turns_each_written_line_into_a_log_line():
    writes = []
    output = Output(writes.append)
    stream = LogStream(output)
    stream.write("one\ntw")
    stream.write("o\nthree")
    stream.flush()
    output.flush()
    assert writes == [b'["log","one"]\n["log","two"]\n["log","three"]\n']
