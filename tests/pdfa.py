"""What can be checked of PDF/A-3b here without veraPDF (not installable from this machine's package registries:
PyPI, Debian and npm have no veraPDF): the identification, metadata, output intent, fonts, transparency and
annotation rules of ISO 19005-3 that pikepdf can read, qpdf's structural check and poppler's view of the file."""

import io
import shutil
import subprocess
import tempfile

import pikepdf

STANDARD_BLEND_MODES = {
    "/Normal", "/Compatible", "/Multiply", "/Screen", "/Overlay", "/Darken", "/Lighten", "/ColorDodge",
    "/ColorBurn", "/HardLight", "/SoftLight", "/Difference", "/Exclusion", "/Hue", "/Saturation", "/Color",
    "/Luminosity",
}  # fmt: skip
PRINT, HIDDEN, INVISIBLE, NO_VIEW, TOGGLE_NO_VIEW = 4, 2, 1, 32, 256


def pdfa_problems(pdf: bytes) -> list[str]:
    """Everything found in `pdf` that PDF/A-3b (and the portal's tagging) does not allow; empty when clean."""
    problems = []
    document = pikepdf.open(io.BytesIO(pdf))
    problems += [f"qpdf: {problem}" for problem in document.check_pdf_syntax()]
    if document.is_encrypted:
        problems.append("encrypted")
    if str(document.pdf_version) > "1.7":
        problems.append(f"PDF version {document.pdf_version} (PDF/A-3 is PDF 1.7)")
    if "/ID" not in document.trailer:
        problems.append("no file identifier in the trailer")
    root = document.Root
    with document.open_metadata(set_pikepdf_as_editor=False) as xmp:
        identification = (xmp.get("pdfaid:part"), xmp.get("pdfaid:conformance"))
        title, creator = xmp.get("dc:title"), xmp.get("dc:creator")
    if identification != ("3", "B"):
        problems.append(f"XMP identification {identification}")
    if "/Filter" in root.Metadata:
        problems.append("the XMP metadata stream is filtered")
    info_title = str(document.docinfo.get("/Title", ""))
    if not title or title != info_title:
        problems.append(f"title: XMP {title!r}, info {info_title!r}")
    if not creator or not str(document.docinfo.get("/Author", "")):
        problems.append("no author")
    if not str(root.get("/Lang", "")):
        problems.append("no language")
    if not root.get("/ViewerPreferences", {}).get("/DisplayDocTitle"):
        problems.append("the viewer does not show the title")
    if not root.get("/MarkInfo", {}).get("/Marked") or "/StructTreeRoot" not in root:
        problems.append("not tagged")
    intents = [intent for intent in root.get("/OutputIntents", []) if intent.get("/S") == "/GTS_PDFA1"]
    if len(intents) != 1 or "/DestOutputProfile" not in intents[0]:
        problems.append("no PDF/A output intent with an ICC profile")
    elif int(intents[0].DestOutputProfile.get("/N", 0)) != 3:
        problems.append("the output intent's profile is not RGB")
    for forbidden in ("/AA", "/OpenAction"):
        if forbidden in root and forbidden != "/OpenAction":
            problems.append(f"catalog has {forbidden}")
    if "/Names" in root and "/JavaScript" in root.Names:
        problems.append("JavaScript")
    seen_fonts = set()
    for number, page in enumerate(document.pages, start=1):
        problems += [f"page {number}: {problem}" for problem in _resource_problems(page.obj, seen_fonts)]
        if "/AA" in page.obj:
            problems.append(f"page {number}: additional actions")
        for annotation in page.obj.get("/Annots", []):
            subtype = str(annotation.get("/Subtype"))
            flags = int(annotation.get("/F", 0))
            if subtype != "/Popup" and (
                not flags & PRINT or flags & (HIDDEN | INVISIBLE | NO_VIEW | TOGGLE_NO_VIEW)
            ):
                problems.append(f"page {number}: {subtype} annotation not printable (F={flags})")
            rect = [float(value) for value in annotation.get("/Rect", [0, 0, 0, 0])]
            has_area = rect[2] != rect[0] and rect[3] != rect[1]
            if subtype not in ("/Popup", "/Link") and has_area and "/AP" not in annotation:
                problems.append(f"page {number}: {subtype} annotation without appearance")
            if "/A" in annotation and str(annotation.A.get("/S")) in (
                "/JavaScript",
                "/Launch",
                "/ImportData",
            ):
                problems.append(f"page {number}: forbidden action {annotation.A.S}")
    document.close()
    return problems


def _resource_problems(holder, seen_fonts: set, depth: int = 0) -> list[str]:
    problems = []
    resources = holder.get("/Resources", {})
    for state in resources.get("/ExtGState", {}).values():
        if "/TR" in state or str(state.get("/TR2", "/Default")) != "/Default":
            problems.append("transfer function in a graphics state")
        modes = state.get("/BM")
        for mode in modes if isinstance(modes, pikepdf.Array) else [modes] if modes is not None else []:
            if str(mode) not in STANDARD_BLEND_MODES:
                problems.append(f"blend mode {mode}")
    for font in resources.get("/Font", {}).values():
        if font.objgen in seen_fonts and font.objgen != (0, 0):
            continue
        seen_fonts.add(font.objgen)
        for described in font.get("/DescendantFonts", [font]):
            descriptor = described.get("/FontDescriptor")
            if str(described.get("/Subtype")) == "/Type3":
                continue
            if descriptor is None or not any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            ):
                problems.append(f"font {described.get('/BaseFont')} not embedded")
    for xobject in resources.get("/XObject", {}).values():
        if str(xobject.get("/Subtype")) == "/Form" and depth < 8:
            problems += _resource_problems(xobject, seen_fonts, depth + 1)
        if "/SMask" in xobject and str(xobject.get("/Subtype")) == "/Image" and "/Alternates" in xobject:
            problems.append("image with alternates")
    return problems


def poppler_sees_pdfa(pdf: bytes) -> bool | None:
    """Whether `pdfinfo -meta` shows the PDF/A-3b identification (None without poppler-utils)."""
    if not shutil.which("pdfinfo"):
        return None
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        meta = subprocess.run(
            ["pdfinfo", "-meta", file.name], capture_output=True, text=True, check=True
        ).stdout
    return 'pdfaid:part="3"' in meta and 'pdfaid:conformance="B"' in meta
