"""Joining tagged PDF parts into one tagged PDF/A while holding only one part in memory.

A long report is rendered in parts (`vielfalt.pdf.render_pdf_parts`). Joining them with qpdf (pikepdf) keeps
every object of every part in memory until the joined file is written, about 3 KB per object: the structure
tree of a tagged report has some 200 elements per page, so at 400 partners (563 pages) the join alone needed
400 MB. Here the joined file is written as the parts are read: each part is opened, its pages and the objects
they and its structure elements reach are written to the output with new object numbers, and the part is
closed before the next one is opened. What is kept across parts is small: the new numbers of the pages, the
top-level structure elements and the parent tree's entries (a few integers per page), the outline's titles and
every object's offset for the cross-reference table.

The joined file has one structure tree (a Document element holding the parts' elements, one parent tree whose
keys run on across the parts), page numbers laid over every page as artifacts (from a PDF with one page number
per page, rendered once the total is known), the parts' outlines, and the first part's PDF/A output intent,
XMP metadata (with the document's title) and viewer preferences.
"""

import hashlib
import re
import zlib
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

import pikepdf
from pikepdf import ObjectType

PAGE_NUMBER_XOBJECT = b"/VvPageNumber"


class _Writer:
    """Writes numbered objects to a file and the cross-reference table at the end."""

    def __init__(self, file):
        self.file = file
        self.offsets: list[int | None] = [0]  # index: object number; object 0 is the free list's head
        self.position = 0
        self.digest = hashlib.md5(usedforsecurity=False)  # the file identifier: same content, same file
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self.file.write(data)
        self.position += len(data)
        self.digest.update(data)

    def allocate(self) -> int:
        self.offsets.append(None)
        return len(self.offsets) - 1

    def put(self, number: int, body: bytes, stream: bytes | None = None) -> None:
        if self.offsets[number] is not None:
            raise RuntimeError(f"object {number} written twice")
        self.offsets[number] = self.position
        if stream is None:
            self._write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
        else:
            self._write(b"%d 0 obj\n%s\nstream\n" % (number, body) + stream + b"\nendstream\nendobj\n")

    def put_stream(self, number: int, entries: bytes, data: bytes, *, compress: bool = True) -> None:
        if compress:
            data = zlib.compress(data)
            entries += b" /Filter /FlateDecode"
        self.put(number, b"<<%s /Length %d>>" % (entries, len(data)), data)

    def finish(self, *, root: int, info: int) -> None:
        missing = [number for number, offset in enumerate(self.offsets) if offset is None]
        if missing:
            raise RuntimeError(f"{len(missing)} objects allocated but never written, e.g. {missing[:5]}")
        identifier = self.digest.hexdigest().encode()
        start = self.position
        table = [b"xref\n0 %d\n0000000000 65535 f \n" % len(self.offsets)]
        table += [b"%010d 00000 n \n" % offset for offset in self.offsets[1:]]
        self._write(b"".join(table))
        self._write(
            b"trailer\n<</Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>]>>\nstartxref\n%d\n%%%%EOF\n"
            % (len(self.offsets), root, info, identifier, identifier, start)
        )


_NAMES: dict[str, bytes] = {}


def _name(key: str) -> bytes:
    encoded = _NAMES.get(key)
    if encoded is None:
        encoded = _NAMES[key] = pikepdf.Name(key).unparse()
    return encoded


def _real(value) -> bytes:
    text = format(Decimal(value).normalize(), "f") if not isinstance(value, Decimal) else format(value, "f")
    return text.encode()


class _Source:
    """One input PDF: writes the objects its written objects refer to, numbered anew."""

    def __init__(self, writer: _Writer, pdf, *, mapped: dict[tuple[int, int], int], key_offset: int = 0):
        self.writer = writer
        self.pdf = pdf
        self.numbers = dict(mapped)  # (number, generation) in the part → number in the joined file
        self.pending: list[tuple[tuple[int, int], int]] = []
        self.key_offset = key_offset  # added to /StructParent(s): parent tree keys run on across the parts

    def ref(self, obj) -> bytes:
        key = obj.objgen
        number = self.numbers.get(key)
        if number is None:
            number = self.numbers[key] = self.writer.allocate()
            self.pending.append((key, number))
        return b"%d 0 R" % number

    def serial(self, value, *, direct: bool = False) -> bytes:
        """`value` in PDF syntax; indirect objects inside it become references to their new numbers (and are
        written by `flush`)."""
        if value is None:
            return b"null"
        if isinstance(value, bool):
            return b"true" if value else b"false"
        if isinstance(value, int):
            return b"%d" % value
        if isinstance(value, (Decimal, float)):
            return _real(value)
        if not direct and value.is_indirect:
            return self.ref(value)
        code = value._type_code
        if code == ObjectType.dictionary:
            return self.dictionary(value.items())
        if code == ObjectType.array:
            return b"[" + b" ".join(self.serial(item) for item in value) + b"]"
        if code == ObjectType.stream:
            raise RuntimeError("a stream can only be written as an object of its own")
        return value.unparse()

    def dictionary(self, items, **replaced: bytes) -> bytes:
        parts = [b"<<"]
        for key, value in items:
            if key[1:] in replaced:
                continue
            if key in ("/StructParent", "/StructParents") and isinstance(value, int):
                value += self.key_offset
            parts += [_name(key), b" ", self.serial(value), b" "]
        for key, value in replaced.items():
            if value is not None:
                parts += [_name("/" + key), b" ", value, b" "]
        parts.append(b">>")
        return b"".join(parts)

    def put(self, obj, number: int) -> None:
        if obj._type_code == ObjectType.stream:
            data = obj.read_raw_bytes()
            entries = self.dictionary(obj.stream_dict.items(), Length=b"%d" % len(data))
            self.writer.put(number, entries, data)
        else:
            self.writer.put(number, self.serial(obj, direct=True))

    def flush(self) -> None:
        while self.pending:
            key, number = self.pending.pop()
            self.put(self.pdf.get_object(key), number)


def join_tagged(parts: list[Path], numbers: Path, output: Path, *, title: str, language: str) -> None:
    """Join the tagged PDFs `parts` into `output`, laying page `i` of `numbers` over page `i` of the result."""
    with output.open("wb") as file:
        writer = _Writer(file)
        catalog, pages_root, structure_root, document = (writer.allocate() for _ in range(4))
        with pikepdf.open(numbers) as numbers_pdf:
            forms = [writer.allocate() for _ in numbers_pdf.pages]
            _write_page_number_forms(writer, numbers_pdf, forms)
        # The page content is fenced in q … Q (WeasyPrint leaves its transformation in force), then the page
        # number is drawn as an artifact: content outside the structure tree must say so.
        opening, closing = writer.allocate(), writer.allocate()
        writer.put_stream(opening, b"", b"q\n", compress=False)
        writer.put_stream(
            closing, b"", b"\nQ\n/Artifact BMC q %s Do Q EMC\n" % PAGE_NUMBER_XOBJECT, compress=False
        )

        page_numbers: list[int] = []
        top_elements: list[bytes] = []
        parent_tree: list[bytes] = []
        next_key = 0
        outline: list[tuple[str, int, bytes, list]] = []
        catalog_entries: dict[str, bytes] = {}
        info_entries = b""
        xmp = b""
        for index, path in enumerate(parts):
            with pikepdf.open(path) as pdf:
                root = pdf.Root
                mapped = {root.objgen: catalog}
                for ancestor in _page_tree_nodes(root.Pages):
                    mapped[ancestor] = pages_root
                first_page = len(page_numbers)
                for page in pdf.pages:
                    number = writer.allocate()
                    mapped[page.obj.objgen] = number
                    page_numbers.append(number)
                part_root = root.get("/StructTreeRoot")
                if part_root is None:
                    raise RuntimeError(f"part {index + 1} is not tagged")
                part_top = part_root.K if isinstance(part_root.K, pikepdf.Array) else [part_root.K]
                mapped[part_root.objgen] = document
                wrappers = {kid.objgen for kid in part_top if kid.get("/S") == pikepdf.Name.Document}
                for wrapper in wrappers:
                    mapped[wrapper] = document
                source = _Source(writer, pdf, mapped=mapped, key_offset=next_key)

                for page_index, page in enumerate(pdf.pages):
                    _write_page(
                        source,
                        page.obj,
                        page_numbers[first_page + page_index],
                        forms[first_page + page_index],
                        pages_root=pages_root,
                        opening=opening,
                        closing=closing,
                    )
                for kid in part_top:
                    children = kid.K if kid.objgen in wrappers else [kid]
                    top_elements += [source.serial(child) for child in children]
                if "/Kids" in part_root.ParentTree:
                    raise RuntimeError("nested parent trees are not supported")
                nums = part_root.ParentTree.Nums
                for position in range(0, len(nums), 2):
                    key = int(nums[position]) + next_key
                    value = nums[position + 1]
                    if value.is_indirect:
                        reference = source.serial(value)
                    else:
                        number = writer.allocate()
                        writer.put(number, source.serial(value, direct=True))
                        reference = b"%d 0 R" % number
                    parent_tree.append(b"%d %s" % (key, reference))
                keys = [int(nums[position]) for position in range(0, len(nums), 2)]
                part_next_key = max(int(part_root.get("/ParentTreeNextKey", 0)), max(keys, default=-1) + 1)
                if index == 0:
                    for key in ("/OutputIntents", "/ViewerPreferences"):
                        if key in root:
                            catalog_entries[key[1:]] = source.serial(root[key])
                    xmp = root.Metadata.read_bytes() if "/Metadata" in root else b""
                    info_entries = source.dictionary(
                        pdf.docinfo.items(), Title=pikepdf.String(title).unparse()
                    )
                entries = _outline_of(source, pdf, first_page)
                if index and outline:
                    outline[0][3].extend(entries)  # a later part continues under the document's title
                else:
                    outline += entries
                source.flush()
                next_key += part_next_key
                del source

        if len(page_numbers) != len(forms):
            raise RuntimeError(f"page numbering made {len(forms)} pages for {len(page_numbers)}")
        writer.put(
            pages_root,
            b"<</Type /Pages /Count %d /Kids [%s]>>"
            % (len(page_numbers), b" ".join(b"%d 0 R" % number for number in page_numbers)),
        )
        parent_tree_number = writer.allocate()
        writer.put(parent_tree_number, b"<</Nums [%s]>>" % b" ".join(parent_tree))
        writer.put(
            structure_root,
            b"<</Type /StructTreeRoot /K [%d 0 R] /ParentTree %d 0 R /ParentTreeNextKey %d>>"
            % (document, parent_tree_number, next_key),
        )
        writer.put(
            document,
            b"<</Type /StructElem /S /Document /P %d 0 R /K [%s]>>"
            % (structure_root, b" ".join(top_elements)),
        )
        if xmp:
            metadata = writer.allocate()
            # PDF/A: the metadata stream stays unfiltered, readable by tools that know no PDF.
            writer.put_stream(
                metadata, b"/Type /Metadata /Subtype /XML", _xmp_with_title(xmp, title), compress=False
            )
            catalog_entries["Metadata"] = b"%d 0 R" % metadata
        if outline:
            catalog_entries["Outlines"] = b"%d 0 R" % _write_outline(writer, outline)
        info = writer.allocate()
        writer.put(info, info_entries)
        writer.put(
            catalog,
            b"<</Type /Catalog /Pages %d 0 R /StructTreeRoot %d 0 R /MarkInfo <</Marked true>> /Lang %s %s>>"
            % (
                pages_root,
                structure_root,
                pikepdf.String(language).unparse(),
                b" ".join(_name("/" + key) + b" " + value for key, value in catalog_entries.items()),
            ),
        )
        writer.finish(root=catalog, info=info)


def _page_tree_nodes(node):
    """Every /Pages node of a part's page tree (the part's own tree is replaced by the joined one)."""
    yield node.objgen
    for kid in node.Kids:
        if kid.get("/Type") == pikepdf.Name.Pages:
            yield from _page_tree_nodes(kid)


def _write_page(source: _Source, page, number: int, form: int, *, pages_root, opening, closing) -> None:
    contents = page.get("/Contents")
    if contents is None:
        inner = []
    elif isinstance(contents, pikepdf.Array):
        inner = [source.serial(item) for item in contents]
    else:
        inner = [source.serial(contents)]
    resources = page.get("/Resources", pikepdf.Dictionary())
    xobjects = resources.get("/XObject", pikepdf.Dictionary())
    resources_bytes = source.dictionary(
        resources.items(),
        XObject=source.dictionary(xobjects.items())[:-2] + PAGE_NUMBER_XOBJECT + b" %d 0 R>>" % form,
    )
    source.writer.put(
        number,
        source.dictionary(
            page.items(),
            Parent=b"%d 0 R" % pages_root,
            Contents=b"[%s]" % b" ".join([b"%d 0 R" % opening, *inner, b"%d 0 R" % closing]),
            Resources=resources_bytes,
        ),
    )


def _write_page_number_forms(writer: _Writer, pdf, forms: list[int]) -> None:
    """Each page of `pdf` as a form XObject (the same size as the report's pages)."""
    source = _Source(writer, pdf, mapped={})
    for page, number in zip(pdf.pages, forms, strict=True):
        contents = page.obj.get("/Contents")
        streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents] if contents else []
        data = b"\n".join(stream.read_bytes() for stream in streams)
        entries = b"/Type /XObject /Subtype /Form /BBox %s /Resources %s" % (
            source.serial(page.obj.MediaBox),
            source.serial(page.obj.get("/Resources", pikepdf.Dictionary())),
        )
        writer.put_stream(number, entries, data)
    source.flush()


def _outline_of(source: _Source, pdf, first_page: int) -> list[tuple[str, int, bytes, list]]:
    """(title, page index in the joined document, destination, children) of a part's outline."""

    def walk(items):
        entries = []
        for item in items:
            destination = item.destination
            index = 0
            if isinstance(destination, pikepdf.Array) and len(destination):
                index = pdf.pages.index(pikepdf.Page(destination[0]))
                destination = source.serial(destination)
            else:
                destination = b""
            entries.append((str(item.title), first_page + index, destination, walk(item.children)))
        return entries

    with pdf.open_outline() as outline:
        return walk(outline.root)


def _write_outline(writer: _Writer, entries) -> int:
    root = writer.allocate()

    def write_level(items, parent: int) -> tuple[int, int, int]:
        numbers = [writer.allocate() for _ in items]
        visible = len(items)
        for position, (title, _index, destination, children) in enumerate(items):
            number = numbers[position]
            fields = [b"/Title " + pikepdf.String(title).unparse(), b"/Parent %d 0 R" % parent]
            if destination:
                fields.append(b"/Dest " + destination)
            if position:
                fields.append(b"/Prev %d 0 R" % numbers[position - 1])
            if position + 1 < len(items):
                fields.append(b"/Next %d 0 R" % numbers[position + 1])
            if children:
                first, last, count = write_level(children, number)
                fields.append(b"/First %d 0 R /Last %d 0 R /Count %d" % (first, last, count))
                visible += count
            writer.put(number, b"<<" + b" ".join(fields) + b">>")
        return numbers[0], numbers[-1], visible

    first, last, count = write_level(entries, root)
    writer.put(root, b"<</Type /Outlines /First %d 0 R /Last %d 0 R /Count %d>>" % (first, last, count))
    return root


def _xmp_with_title(xmp: bytes, title: str) -> bytes:
    return re.sub(
        rb'(<rdf:li xml:lang="x-default">).*?(</rdf:li></rdf:Alt></dc:title>)',
        lambda match: match.group(1) + escape(title).encode() + match.group(2),
        xmp,
        count=1,
        flags=re.S,
    )
