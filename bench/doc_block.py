"""Writes a generated block into BENCHMARKS.md between its markers <!-- NAME:begin --> and
<!-- NAME:end -->, or appends it under `heading` the first time. Shared by the bench reports."""


def replace_block(doc_path, name, lines, heading=None):
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    block = "\n".join([begin, *lines, end])
    text = open(doc_path).read()
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + (f"{heading}\n" if heading else "") + block + "\n"
    open(doc_path, "w").write(text)
    return block
