"""X3P reading and writing: known values recovered, every malformed or hostile file refused."""

from __future__ import annotations

import hashlib
import io
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ballistics.errors import LimitExceededError, UnreadableFileError
from ballistics.io import ReadLimits, read_x3p, write_x3p
from ballistics.io.x3p_mask import region_from_mask
from ballistics.surface import Modality, Surface
from tests.io.refusals import assert_refused
from tests.io.x3p_files import (
    DTYPES,
    make_main_xml,
    make_x3p,
    md5,
    ramp,
    write,
    zip_members,
)

# --- reading known content -------------------------------------------------------------------


def test_float64_heights_are_read_row_by_row_in_micrometres(tmp_path: Path) -> None:
    stored = ramp()
    stored[3, 5] = np.nan
    path = write(tmp_path, make_x3p(stored))

    surface = read_x3p(path)

    assert surface.modality is Modality.TOPOGRAPHY
    assert surface.shape == (20, 24)
    assert surface.pixel_um == pytest.approx(2.0)
    np.testing.assert_allclose(surface.values, stored * 1e6, rtol=1e-12)
    assert np.isnan(surface.values[3, 5]) and surface.mask.sum() == 20 * 24 - 1
    assert surface.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert surface.source == str(path)
    assert surface.metadata["units_detected"] == "m"
    assert surface.metadata["instrument"] == "Acme Scope 3"
    assert surface.metadata["comment"] == "synthetic"
    assert surface.metadata["checksum_data"] == "verified"
    assert surface.metadata["checksum_main_xml"] == "verified"


def test_float32_nan_points_are_invalid(tmp_path: Path) -> None:
    stored = ramp().astype(np.float32)
    stored[0, :4] = np.nan

    surface = read_x3p(write(tmp_path, make_x3p(stored, data_type="F")))

    assert surface.values.dtype == np.float64
    assert np.isnan(surface.values[0, :4]).all() and np.isfinite(surface.values[1:]).all()
    np.testing.assert_allclose(surface.values[1:], stored[1:] * 1e6, rtol=1e-6)


@pytest.mark.parametrize("data_type", ["I", "L"])
def test_integer_heights_are_scaled_and_masked_by_the_valid_bit_file(
    tmp_path: Path, data_type: str
) -> None:
    rows, columns = 17, 19  # 323 points: the last byte of the bit file is padded
    stored = (np.arange(rows * columns).reshape(rows, columns) - 150).astype(DTYPES[data_type])
    valid = np.ones((rows, columns), dtype=bool)
    valid[0, 0] = False  # bit 0 of byte 0
    valid[0, 9] = False  # bit 1 of byte 1: checks the least-significant-first order
    valid[-1, -1] = False  # the last point, in the padded byte
    z_increment, z_offset = 1e-9, 2e-6  # 1 nm per count, 2 µm offset

    surface = read_x3p(
        write(
            tmp_path,
            make_x3p(
                stored,
                data_type=data_type,
                valid=valid,
                z_increment=z_increment,
                z_offset=z_offset,
            ),
        )
    )

    expected = (stored * z_increment + z_offset) * 1e6
    np.testing.assert_array_equal(surface.mask, valid)
    np.testing.assert_allclose(surface.values[valid], expected[valid], rtol=1e-9)
    assert surface.metadata["data_type"] == data_type
    assert surface.metadata["checksum_valid_points"] == "verified"


def test_integer_data_without_a_valid_bit_file_is_all_valid(tmp_path: Path) -> None:
    stored = np.arange(16 * 16, dtype="<i2").reshape(16, 16)
    surface = read_x3p(write(tmp_path, make_x3p(stored, data_type="I", z_increment=1e-8)))
    assert surface.valid_fraction == 1.0
    assert surface.values[1, 0] == pytest.approx(16 * 1e-8 * 1e6)


def test_micrometre_files_are_detected_and_not_scaled_again(tmp_path: Path) -> None:
    stored = ramp() * 1e6  # heights stored in µm (0 to 192 µm), grid spacing 7.37 µm
    surface = read_x3p(write(tmp_path, make_x3p(stored, x_increment=7.37)))

    assert surface.pixel_um == pytest.approx(7.37)
    np.testing.assert_allclose(surface.values, stored, rtol=1e-12)
    assert surface.metadata["units_detected"] == "um"


def test_micrometre_grid_with_heights_in_metres_is_reported_as_mixed(tmp_path: Path) -> None:
    stored = ramp()  # a span of 1.9e-4: 192 µm as metres, an impossible 0.2 nm as µm
    surface = read_x3p(write(tmp_path, make_x3p(stored, x_increment=7.37)))

    assert surface.metadata["units_detected"] == "mixed: lateral um, heights m"
    np.testing.assert_allclose(surface.values, stored * 1e6, rtol=1e-12)
    assert surface.pixel_um == pytest.approx(7.37)


def test_non_square_grid_is_resampled_to_the_x_spacing_without_spreading_nan(
    tmp_path: Path,
) -> None:
    rows, columns = 20, 30
    y = np.arange(rows)[:, None] * 4.0  # y spacing 4 µm, x spacing 2 µm
    stored = np.repeat(y, columns, axis=1) * 1e-6  # height = y position (metres)
    stored[:, :3] = np.nan

    surface = read_x3p(write(tmp_path, make_x3p(stored, x_increment=2e-6, y_increment=4e-6)))

    assert surface.shape == (40, 30)
    assert surface.pixel_um == pytest.approx(2.0)
    assert np.isnan(surface.values[:, :3]).all()
    assert np.isfinite(surface.values[:, 3:]).all()
    # A linear ramp in y stays linear: about 2 µm of height per new row, away from the ends.
    steps = np.diff(surface.values[5:-5, 10])
    np.testing.assert_allclose(steps, 2.0, rtol=1e-6)
    assert "resampled" in surface.metadata


def test_metadata_values_are_text(tmp_path: Path) -> None:
    surface = read_x3p(write(tmp_path, make_x3p(ramp())))
    assert all(isinstance(value, str) for value in surface.metadata.values())


# --- the annotation mask ---------------------------------------------------------------------

COPPER = (0xCD, 0x7F, 0x32)
BLUE = (0x1F, 0x37, 0x6C)


def test_annotated_colours_are_excluded_from_the_region_of_interest(tmp_path: Path) -> None:
    stored = ramp()
    mask = np.zeros((*stored.shape, 3), dtype=np.uint8)
    mask[...] = COPPER
    mask[2:5, 6:9] = BLUE

    surface = read_x3p(write(tmp_path, make_x3p(stored, mask=mask, mask_background="#CD7F32")))

    assert surface.region_of_interest is not None
    expected = np.ones(stored.shape, dtype=bool)
    expected[2:5, 6:9] = False
    np.testing.assert_array_equal(surface.region_of_interest, expected)
    assert "#1f376c excluded" in surface.metadata["mask"]


def test_black_and_white_mask_keeps_white(tmp_path: Path) -> None:
    stored = ramp()
    mask = np.zeros((*stored.shape, 3), dtype=np.uint8)
    mask[5:15, 4:20] = 255

    surface = read_x3p(write(tmp_path, make_x3p(stored, mask=mask)))

    assert surface.region_of_interest is not None
    np.testing.assert_array_equal(surface.region_of_interest, mask[..., 0] == 255)
    assert surface.metadata["mask"] == "binary mask: white kept"


def test_mask_without_annotation_or_of_another_size_gives_no_region(tmp_path: Path) -> None:
    stored = ramp()
    plain = np.zeros((*stored.shape, 3), dtype=np.uint8)
    plain[...] = COPPER
    wrong_size = np.zeros((5, 5, 3), dtype=np.uint8)

    assert read_x3p(write(tmp_path, make_x3p(stored, mask=plain))).region_of_interest is None
    surface = read_x3p(write(tmp_path, make_x3p(stored, mask=wrong_size)))
    assert surface.region_of_interest is None
    assert surface.metadata["mask"].startswith("ignored")


def test_mask_that_excludes_everything_is_ignored() -> None:
    everything = np.zeros((4, 4, 3), dtype=np.uint8)
    everything[...] = BLUE
    region, rule = region_from_mask(everything, background="#cd7f32")
    assert region is None and rule.startswith("ignored")


# --- writing ---------------------------------------------------------------------------------


def make_surface(*, region: np.ndarray | None = None) -> Surface:
    heights = ramp(18, 21) * 1e6 - 3.0
    heights[4, 4:8] = np.nan
    return Surface(
        values=heights,
        pixel_um=3.125,
        modality=Modality.TOPOGRAPHY,
        metadata={
            "instrument_manufacturer": "Cadre",
            "instrument_model": "TopMatch-GS 3D",
            "comment": "round trip <&> test",
            "date": "2024-05-06T07:08:09",
        },
        region_of_interest=region,
    )


def test_write_then_read_recovers_values_nan_spacing_metadata_and_region(
    tmp_path: Path,
) -> None:
    region = np.ones((18, 21), dtype=bool)
    region[10:, 15:] = False
    original = make_surface(region=region)
    path = tmp_path / "out.x3p"

    written = write_x3p(original, path, creator="examiner 7")
    surface = read_x3p(written)

    assert written == path
    np.testing.assert_allclose(surface.values, original.values, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(surface.mask, original.mask)
    assert surface.pixel_um == pytest.approx(3.125, rel=1e-12)
    assert surface.metadata["instrument"] == "Cadre TopMatch-GS 3D"
    assert surface.metadata["comment"] == "round trip <&> test"
    assert surface.metadata["creator"] == "examiner 7"
    assert surface.metadata["units_detected"] == "m"
    assert surface.region_of_interest is not None
    np.testing.assert_array_equal(surface.region_of_interest, region)


def test_written_file_follows_the_standard(tmp_path: Path) -> None:
    path = write_x3p(make_surface(), tmp_path / "standard.x3p")

    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        main_xml = archive.read("main.xml")
        data_bin = archive.read("bindata/data.bin")
        checksum = archive.read("md5checksum.hex").decode()
    assert {"main.xml", "bindata/data.bin", "md5checksum.hex"} <= names
    assert checksum.split()[0] == md5(main_xml)
    text = main_xml.decode()
    assert f"<MD5ChecksumPointData>{md5(data_bin)}</MD5ChecksumPointData>" in text
    assert "<DataType>D</DataType>" in text and "<Increment>3.125e-06</Increment>" in text
    assert len(data_bin) == 18 * 21 * 8
    # Little-endian float64 in metres, x fastest.
    first = struct.unpack("<d", data_bin[:8])[0]
    assert first == pytest.approx(make_surface().values[0, 0] * 1e-6)


def test_write_replaces_a_file_atomically_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "same.x3p"
    path.write_bytes(b"old content")
    write_x3p(make_surface(), path)
    write_x3p(make_surface(), path)

    assert [entry.name for entry in tmp_path.iterdir()] == ["same.x3p"]
    assert read_x3p(path).shape == (18, 21)


def test_writing_the_same_surface_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    first = write_x3p(make_surface(), tmp_path / "a.x3p").read_bytes()
    second = write_x3p(make_surface(), tmp_path / "b.x3p").read_bytes()
    assert first == second


def test_write_refuses_a_photograph(tmp_path: Path) -> None:
    photo = Surface(np.zeros((16, 16)), pixel_um=1.0, modality=Modality.PHOTOGRAPH)
    with pytest.raises(ValueError, match="write_png"):
        write_x3p(photo, tmp_path / "photo.x3p")


# --- checksums -------------------------------------------------------------------------------


def test_checksums_compare_case_insensitively_and_accept_both_file_formats(
    tmp_path: Path,
) -> None:
    stored = ramp()
    upper = make_x3p(
        stored,
        edit_xml=lambda xml: xml.replace(md5(stored.tobytes()), md5(stored.tobytes()).upper()),
        checksum_line="{hash}\r\n",
    )
    assert read_x3p(write(tmp_path, upper)).metadata["checksum_data"] == "verified"


def test_missing_checksums_are_accepted_and_recorded(tmp_path: Path) -> None:
    stored = ramp()
    content = make_x3p(
        stored,
        checksum_line=None,
        edit_xml=lambda xml: xml.replace(
            f"<MD5ChecksumPointData>{md5(stored.tobytes())}</MD5ChecksumPointData>", ""
        ),
    )
    surface = read_x3p(write(tmp_path, content))
    assert surface.metadata["checksum_data"] == "absent"
    assert surface.metadata["checksum_main_xml"] == "absent"


def test_wrong_data_checksum_is_refused(tmp_path: Path) -> None:
    stored = ramp()
    content = make_x3p(stored, edit_xml=lambda xml: xml.replace(md5(stored.tobytes()), "0" * 32))
    path = write(tmp_path, content, "tampered data.x3p")
    with pytest.raises(UnreadableFileError, match="MD5") as caught:
        read_x3p(path)
    assert "tampered data.x3p" in str(caught.value)


def test_wrong_main_xml_checksum_is_refused(tmp_path: Path) -> None:
    content = make_x3p(ramp(), checksum_line="0123456789abcdef0123456789abcdef *main.xml\n")
    path = write(tmp_path, content, "tampered header.x3p")
    with pytest.raises(UnreadableFileError, match=r"md5checksum\.hex") as caught:
        read_x3p(path)
    assert "tampered header.x3p" in str(caught.value)


def test_wrong_valid_points_checksum_is_refused(tmp_path: Path) -> None:
    stored = np.zeros((16, 16), dtype="<i2")
    valid = np.ones((16, 16), dtype=bool)
    good = md5(np.packbits(valid.reshape(-1), bitorder="little").tobytes())
    content = make_x3p(
        stored,
        data_type="I",
        valid=valid,
        edit_xml=lambda xml: xml.replace(good, "f" * 32),
    )
    with pytest.raises(UnreadableFileError, match=r"valid\.bin"):
        read_x3p(write(tmp_path, content))


# --- malformed and hostile files -------------------------------------------------------------


def test_truncated_archive_is_refused(tmp_path: Path) -> None:
    content = make_x3p(ramp(64, 64))
    assert_refused(
        read_x3p,
        write(tmp_path, content[: len(content) // 2], "cut.x3p"),
        UnreadableFileError,
        "corrupt",
    )


def test_corrupted_compressed_data_is_refused(tmp_path: Path) -> None:
    content = bytearray(make_x3p(ramp(64, 64)))
    middle = len(content) // 3
    content[middle : middle + 64] = bytes(64)
    assert_refused(
        read_x3p, write(tmp_path, bytes(content), "flipped.x3p"), UnreadableFileError, ""
    )


def test_zip_without_main_xml_is_refused(tmp_path: Path) -> None:
    content = zip_members({"bindata/data.bin": b"\0" * 64})
    assert_refused(read_x3p, write(tmp_path, content, "empty.x3p"), UnreadableFileError, "main.xml")


def test_content_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    assert_refused(
        read_x3p,
        write(tmp_path, b"\x89PNG\r\n\x1a\n" + bytes(100), "image.x3p"),
        UnreadableFileError,
        "not an X3P",
    )


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
"""


@pytest.mark.parametrize(
    ("label", "prolog", "comment"),
    [
        ("billion laughs", BILLION_LAUGHS, "&lol9;"),
        ("dtd only", '<?xml version="1.0"?>\n<!DOCTYPE p:ISO5436_2 [ <!ELEMENT a ANY> ]>\n', "x"),
        (
            "external entity",
            '<?xml version="1.0"?>\n<!DOCTYPE r [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n',
            "&xxe;",
        ),
    ],
)
def test_xml_with_a_dtd_or_entities_is_refused(
    tmp_path: Path, label: str, prolog: str, comment: str
) -> None:
    def hostile(xml: str) -> str:
        body = xml.split("?>", 1)[1]
        return prolog + body.replace(
            "<Comment>synthetic</Comment>", f"<Comment>{comment}</Comment>"
        )

    path = write(tmp_path, make_x3p(ramp(), edit_xml=hostile), f"{label}.x3p")
    assert_refused(read_x3p, path, UnreadableFileError, "DTD or entities")


def test_malformed_xml_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, make_x3p(ramp(), edit_xml=lambda xml: xml[:-30]), "broken.x3p")
    assert_refused(read_x3p, path, UnreadableFileError, "not well-formed")


@pytest.mark.parametrize("length_change", [-8, +8, -1])
def test_data_block_of_the_wrong_size_is_refused(tmp_path: Path, length_change: int) -> None:
    stored = ramp()
    data_bin = stored.tobytes()
    data_bin = data_bin[:length_change] if length_change < 0 else data_bin + bytes(length_change)
    path = write(tmp_path, make_x3p(stored, data_bin=data_bin), "short.x3p")
    assert_refused(read_x3p, path, UnreadableFileError, "SizeX × SizeY")


def test_valid_bit_file_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    stored = np.zeros((16, 16), dtype="<i2")
    valid = np.ones((16, 16), dtype=bool)
    content = make_x3p(stored, data_type="I", valid=valid)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["bindata/valid.bin"] = members["bindata/valid.bin"][:-1]
    path = write(tmp_path, zip_members(members), "bits.x3p")
    assert_refused(read_x3p, path, UnreadableFileError, "valid.bin")


def test_unknown_data_type_is_refused(tmp_path: Path) -> None:
    content = make_x3p(
        ramp(),
        edit_xml=lambda xml: xml.replace(
            "<DataType>D</DataType>\n        <Incr", "<DataType>Q</DataType>\n        <Incr"
        ),
    )
    assert_refused(
        read_x3p, write(tmp_path, content, "q.x3p"), UnreadableFileError, "unknown data type"
    )


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("<SizeX>24</SizeX>", "", "lacks Record3/MatrixDimension/SizeX"),
        ("<SizeX>24</SizeX>", "<SizeX>-24</SizeX>", "positive whole number"),
        ("<Increment>2e-06</Increment>", "<Increment>two</Increment>", "not a number"),
        ("<Increment>2e-06</Increment>", "<Increment>0</Increment>", "must not be zero"),
        ("<FeatureType>SUR</FeatureType>", "<FeatureType>PRF</FeatureType>", "FeatureType"),
        ("<AxisType>I</AxisType>", "<AxisType>A</AxisType>", "AxisType"),
        ("<SizeZ>1</SizeZ>", "<SizeZ>3</SizeZ>", "SizeZ"),
        ("Record1>", "Recordl>", "not an ISO 5436-2"),
    ],
)
def test_missing_or_invalid_elements_are_refused(
    tmp_path: Path, old: str, new: str, fragment: str
) -> None:
    content = make_x3p(ramp(), edit_xml=lambda xml: xml.replace(old, new))
    assert_refused(read_x3p, write(tmp_path, content, "odd.x3p"), UnreadableFileError, fragment)


def test_point_data_inside_main_xml_is_refused_with_a_reason(tmp_path: Path) -> None:
    def data_list(xml: str) -> str:
        start, end = xml.index("<DataLink>"), xml.index("</DataLink>") + len("</DataLink>")
        return xml[:start] + "<DataList><Datum>1</Datum></DataList>" + xml[end:]

    assert_refused(
        read_x3p,
        write(tmp_path, make_x3p(ramp(), edit_xml=data_list), "list.x3p"),
        UnreadableFileError,
        "DataList",
    )


def test_surface_without_any_valid_point_is_refused(tmp_path: Path) -> None:
    stored = np.full((16, 16), np.nan)
    assert_refused(
        read_x3p,
        write(tmp_path, make_x3p(stored), "void.x3p"),
        UnreadableFileError,
        "no measured point",
    )


def test_unsupported_compression_method_is_refused(tmp_path: Path) -> None:
    content = bytearray(make_x3p(ramp(), compression=zipfile.ZIP_STORED))
    # Set the method field of every local (offset 8) and central (offset 10) header to 99.
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (found := content.find(signature, start)) >= 0:
            content[found + offset : found + offset + 2] = struct.pack("<H", 99)
            start = found + 4
    assert_refused(
        read_x3p, write(tmp_path, bytes(content), "method.x3p"), UnreadableFileError, "corrupt"
    )


# --- limits ----------------------------------------------------------------------------------


def test_grid_past_the_point_limit_is_refused_before_its_data_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, make_x3p(ramp(40, 40)), "big.x3p")
    assert_refused(
        read_x3p, path, LimitExceededError, "1600 points", limits=ReadLimits(max_points=1000)
    )


def test_grid_smaller_than_the_minimum_is_refused(tmp_path: Path) -> None:
    assert_refused(
        read_x3p,
        write(tmp_path, make_x3p(ramp(8, 40)), "thin.x3p"),
        UnreadableFileError,
        "too small",
    )


def test_file_past_the_byte_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, make_x3p(ramp()), "heavy.x3p")
    assert_refused(
        read_x3p, path, LimitExceededError, "past the limit", limits=ReadLimits(max_file_bytes=1000)
    )


def test_main_xml_past_its_limit_is_refused(tmp_path: Path) -> None:
    padded = make_x3p(
        ramp(),
        edit_xml=lambda xml: xml.replace(
            "<Comment>synthetic</Comment>", "<Comment>" + "x" * 5000 + "</Comment>"
        ),
    )
    assert_refused(
        read_x3p,
        write(tmp_path, padded, "long.x3p"),
        LimitExceededError,
        "main.xml",
        limits=ReadLimits(max_xml_bytes=4096),
    )


def bomb_members(points_side: int) -> dict[str, bytes]:
    data_bin = bytes(points_side * points_side * 8)  # zeros: deflate shrinks them ~1000-fold
    xml = make_main_xml(points_side, points_side, data_md5=md5(data_bin)).encode()
    return {"main.xml": xml, "bindata/data.bin": data_bin}


def test_highly_compressible_data_block_is_refused_as_a_zip_bomb(tmp_path: Path) -> None:
    path = write(tmp_path, zip_members(bomb_members(1024)), "bomb.x3p")  # 8 MiB of zeros
    assert path.stat().st_size < 100_000
    assert_refused(read_x3p, path, LimitExceededError, "expands")


def test_declared_decompressed_size_past_the_limit_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, zip_members(bomb_members(256)), "large.x3p")  # 512 KiB
    assert_refused(
        read_x3p,
        path,
        LimitExceededError,
        "decompressed",
        limits=ReadLimits(max_decompressed_bytes=256 * 1024),
    )


def test_archive_that_understates_its_sizes_is_refused_without_inflating_it(
    tmp_path: Path,
) -> None:
    # The headers declare the 16×16 grid's 2 KiB; the deflate stream really holds 16 MiB of
    # zeros. Reading must stop at the declared size, not inflate everything.
    small = 16 * 16 * 8
    members = bomb_members(16)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("main.xml", members["main.xml"])
        archive.writestr("bindata/data.bin", bytes(16 * 1024 * 1024))
    content = bytearray(buffer.getvalue())
    # (signature, offset of the name length, offset of the name, offset of the size)
    for signature, length_at, name_at, size_at in (
        (b"PK\x03\x04", 26, 30, 22),
        (b"PK\x01\x02", 28, 46, 24),
    ):
        start = 0
        while (found := content.find(signature, start)) >= 0:
            start = found + 4
            (length,) = struct.unpack_from("<H", content, found + length_at)
            if content[found + name_at : found + name_at + length] == b"bindata/data.bin":
                struct.pack_into("<I", content, found + size_at, small)
    path = write(tmp_path, bytes(content), "liar.x3p")

    started = time.perf_counter()
    assert_refused(read_x3p, path, UnreadableFileError, "corrupt")
    assert time.perf_counter() - started < 1.0


def test_too_many_archive_entries_are_refused(tmp_path: Path) -> None:
    members = {f"junk/{index}.txt": b"x" for index in range(70)}
    path = write(tmp_path, zip_members(members), "many.x3p")
    assert_refused(read_x3p, path, LimitExceededError, "entries")


def test_spacings_too_far_apart_are_refused_before_resampling(tmp_path: Path) -> None:
    # Metres along x, micrometres along y: resampling would make 10^6 times as many rows.
    content = make_x3p(ramp(), x_increment=2e-6, y_increment=2.0)
    assert_refused(
        read_x3p, write(tmp_path, content, "mixed axes.x3p"), UnreadableFileError, "differ"
    )


def test_resampling_past_the_point_limit_is_refused(tmp_path: Path) -> None:
    content = make_x3p(ramp(20, 24), x_increment=1e-6, y_increment=8e-6)  # 160 × 24 after
    assert_refused(
        read_x3p,
        write(tmp_path, content, "tall.x3p"),
        LimitExceededError,
        "resampled",
        limits=ReadLimits(max_points=2000),
    )


def test_archive_listing_a_member_twice_is_refused(tmp_path: Path) -> None:
    content = make_x3p(ramp())
    buffer = io.BytesIO(content)
    with (
        pytest.warns(UserWarning, match="Duplicate name"),
        zipfile.ZipFile(buffer, "a") as archive,
    ):
        archive.writestr("main.xml", b"<other/>")
    path = write(tmp_path, buffer.getvalue(), "twice.x3p")
    assert_refused(read_x3p, path, UnreadableFileError, "more than once")
