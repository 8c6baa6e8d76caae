package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// The subsets gofpdf cuts carry, besides the outlines, DejaVu's hinting (the
// programs in cvt, fpgm and prep and the instructions of every glyph, about
// half of glyf) and its name table with the 4.7 KB licence text twice over.
// A statement is printed or read zoomed at any size, and viewers draw the
// outlines without the hints, so slimFont drops both: every page of every
// document that embeds the font is about half as heavy. The licence stays
// in statements/fonts/LICENSE.

var be = binary.BigEndian

// hintingTables are read only by the TrueType hinting interpreter.
var hintingTables = []string{"cvt ", "fpgm", "prep", "hdmx", "LTSH", "VDMX"}

// keptNameIDs is the last name ID kept: copyright, family, subfamily,
// unique id, full name, version and PostScript name (which gofpdf.MakeFont
// reads for the font's name).
const keptNameIDs = 6

// Composite glyph component flags.
const (
	argsAreWords     = 0x0001
	haveScale        = 0x0008
	moreComponents   = 0x0020
	haveXYScale      = 0x0040
	haveTwoByTwo     = 0x0080
	haveInstructions = 0x0100
)

// Simple glyph point flags.
const (
	repeatFlag = 0x08
	xShort     = 0x02
	yShort     = 0x04
	xSameOrPos = 0x10
	ySameOrPos = 0x20
)

// slimFont returns the TrueType font ttf without hinting and with only the
// name records 0 to 6, as a valid font file: tables in tag order, each
// 4-byte padded, with their checksums and head's checksum adjustment.
// Outlines, metrics, cmap and everything else are kept as they are.
func slimFont(ttf []byte) ([]byte, error) {
	tables, err := readTables(ttf)
	if err != nil {
		return nil, err
	}
	for _, tag := range hintingTables {
		delete(tables, tag)
	}
	for _, tag := range []string{"head", "maxp", "loca", "glyf", "name"} {
		if tables[tag] == nil {
			return nil, fmt.Errorf("no %s table", tag)
		}
	}
	head, maxp := tables["head"], tables["maxp"]
	if len(head) < 54 {
		return nil, fmt.Errorf("head table: %d bytes, want 54", len(head))
	}
	if len(maxp) < 6 {
		return nil, fmt.Errorf("maxp table: %d bytes, want at least 6", len(maxp))
	}
	long := be.Uint16(head[50:]) == 1
	numGlyphs := int(be.Uint16(maxp[4:]))
	tables["glyf"], tables["loca"], err = stripInstructions(tables["glyf"], tables["loca"], long, numGlyphs)
	if err != nil {
		return nil, err
	}
	tables["maxp"] = unhintMaxp(maxp)
	tables["cmap"] = trimCmap(tables["cmap"])
	if tables["name"], err = trimName(tables["name"]); err != nil {
		return nil, err
	}
	return writeFont(tables), nil
}

// readTables returns the tables of a TrueType file by tag, as slices of ttf.
func readTables(ttf []byte) (map[string][]byte, error) {
	if len(ttf) < 12 {
		return nil, errors.New("not a TrueType font: too short")
	}
	if v := be.Uint32(ttf); v != 0x00010000 {
		return nil, fmt.Errorf("not a TrueType font: version %#08x", v)
	}
	n := int(be.Uint16(ttf[4:]))
	if len(ttf) < 12+16*n {
		return nil, fmt.Errorf("table directory of %d tables is cut off", n)
	}
	tables := make(map[string][]byte, n)
	for i := range n {
		rec := ttf[12+16*i:]
		tag := string(rec[:4])
		off, length := uint64(be.Uint32(rec[8:])), uint64(be.Uint32(rec[12:]))
		if off+length > uint64(len(ttf)) {
			return nil, fmt.Errorf("table %q at %d+%d is past the end (%d bytes)", tag, off, length, len(ttf))
		}
		tables[tag] = ttf[off : off+length]
	}
	return tables, nil
}

// stripInstructions returns glyf and loca with the instructions of every
// glyph removed and loca rebuilt in the same format: glyphs padded to 4
// bytes in the long format, to 2 in the short one.
func stripInstructions(glyf, loca []byte, long bool, numGlyphs int) (newGlyf, newLoca []byte, err error) {
	offs := make([]int, numGlyphs+1)
	for i := range offs {
		switch {
		case long && 4*i+4 <= len(loca):
			offs[i] = int(be.Uint32(loca[4*i:]))
		case !long && 2*i+2 <= len(loca):
			offs[i] = 2 * int(be.Uint16(loca[2*i:]))
		default:
			return nil, nil, fmt.Errorf("loca table: %d bytes for %d glyphs", len(loca), numGlyphs)
		}
		if offs[i] > len(glyf) || (i > 0 && offs[i] < offs[i-1]) {
			return nil, nil, fmt.Errorf("loca table: glyph %d at %d (glyf is %d bytes)", i, offs[i], len(glyf))
		}
	}
	align := 2
	if long {
		align = 4
	}
	newGlyf = make([]byte, 0, len(glyf))
	newOffs := make([]int, numGlyphs+1)
	for i := range numGlyphs {
		newOffs[i] = len(newGlyf)
		g := glyf[offs[i]:offs[i+1]]
		if len(g) == 0 {
			continue
		}
		if newGlyf, err = appendGlyph(newGlyf, g); err != nil {
			return nil, nil, fmt.Errorf("glyph %d: %w", i, err)
		}
		for len(newGlyf)%align != 0 {
			newGlyf = append(newGlyf, 0)
		}
	}
	newOffs[numGlyphs] = len(newGlyf)
	if long {
		newLoca = make([]byte, 4*len(newOffs))
		for i, o := range newOffs {
			be.PutUint32(newLoca[4*i:], uint32(o))
		}
		return newGlyf, newLoca, nil
	}
	if len(newGlyf)/2 > 0xFFFF {
		return nil, nil, fmt.Errorf("glyf table: %d bytes is too long for the short loca format", len(newGlyf))
	}
	newLoca = make([]byte, 2*len(newOffs))
	for i, o := range newOffs {
		be.PutUint16(newLoca[2*i:], uint16(o/2))
	}
	return newGlyf, newLoca, nil
}

// appendGlyph appends glyph g without its instructions to dst. Trailing
// padding of g is dropped; the caller pads.
func appendGlyph(dst, g []byte) ([]byte, error) {
	if len(g) < 10 {
		return nil, fmt.Errorf("%d bytes, want a 10-byte header", len(g))
	}
	if contours := int16(be.Uint16(g)); contours >= 0 {
		return appendSimpleGlyph(dst, g, int(contours))
	}
	return appendCompositeGlyph(dst, g)
}

// appendSimpleGlyph appends a simple glyph with an instruction length of 0:
// header and contour end points, then the flags and coordinates, whose
// length it works out from the flags.
func appendSimpleGlyph(dst, g []byte, contours int) ([]byte, error) {
	p := 10 + 2*contours // instructionLength
	if len(g) < p+2 {
		return nil, fmt.Errorf("%d contours cut off at %d bytes", contours, len(g))
	}
	points := 0
	if contours > 0 {
		points = int(be.Uint16(g[p-2:])) + 1
	}
	flags := p + 2 + int(be.Uint16(g[p:]))
	q := flags
	var coords int
	for k := 0; k < points; {
		if q >= len(g) {
			return nil, fmt.Errorf("flags of %d points cut off at %d bytes", points, len(g))
		}
		f := g[q]
		q++
		n := 1
		if f&repeatFlag != 0 {
			if q >= len(g) {
				return nil, fmt.Errorf("flags of %d points cut off at %d bytes", points, len(g))
			}
			n += int(g[q])
			q++
		}
		if k += n; k > points {
			return nil, fmt.Errorf("flags repeat past the %d points", points)
		}
		coords += n * (coordSize(f, xShort, xSameOrPos) + coordSize(f, yShort, ySameOrPos))
	}
	end := q + coords
	if end > len(g) {
		return nil, fmt.Errorf("coordinates of %d points cut off at %d bytes (want %d)", points, len(g), end)
	}
	dst = append(dst, g[:p]...)
	dst = append(dst, 0, 0)
	return append(dst, g[flags:end]...), nil
}

// coordSize is the bytes one coordinate takes under point flag f.
func coordSize(f byte, short, sameOrPos byte) int {
	switch {
	case f&short != 0:
		return 1
	case f&sameOrPos != 0:
		return 0 // same as the previous point
	default:
		return 2
	}
}

// appendCompositeGlyph appends a composite glyph with WE_HAVE_INSTRUCTIONS
// cleared on every component and the instructions after the last dropped.
func appendCompositeGlyph(dst, g []byte) ([]byte, error) {
	dst = append(dst, g[:10]...)
	for q := 10; ; {
		if q+4 > len(g) {
			return nil, fmt.Errorf("component cut off at %d bytes", len(g))
		}
		f := be.Uint16(g[q:])
		size := componentSize(f)
		if q+size > len(g) {
			return nil, fmt.Errorf("component cut off at %d bytes", len(g))
		}
		c := len(dst)
		dst = append(dst, g[q:q+size]...)
		be.PutUint16(dst[c:], f&^haveInstructions)
		q += size
		if f&moreComponents == 0 {
			return dst, nil
		}
	}
}

// componentSize is the bytes of a composite glyph's component with flags f.
func componentSize(f uint16) int {
	size := 2 + 2 + 2 // flags, glyph index, two byte arguments
	if f&argsAreWords != 0 {
		size += 2
	}
	switch {
	case f&haveScale != 0:
		size += 2
	case f&haveXYScale != 0:
		size += 4
	case f&haveTwoByTwo != 0:
		size += 8
	}
	return size
}

// unhintMaxp returns maxp with the limits of the hinting interpreter set as
// for a font without hints: one zone, no twilight points, storage,
// function or instruction definitions, stack or instructions.
func unhintMaxp(maxp []byte) []byte {
	m := append([]byte(nil), maxp...)
	if be.Uint32(m) != 0x00010000 || len(m) < 32 {
		return m // version 0.5 has only numGlyphs
	}
	be.PutUint16(m[14:], 1) // maxZones
	for _, off := range []int{16, 18, 20, 22, 24, 26} {
		// maxTwilightPoints, maxStorage, maxFunctionDefs,
		// maxInstructionDefs, maxStackElements, maxSizeOfInstructions
		be.PutUint16(m[off:], 0)
	}
	return m
}

// trimCmap returns the cmap gofpdf.UTF8CutFont writes, one format 4
// subtable mapping by idDelta alone, cut to that subtable's true length.
// UTF8CutFont appends a glyph ID array nothing refers to and counts it in
// bytes where it is in uint16s, so the declared length is odd and strict
// parsers reject the table. Any other cmap is returned as it is.
func trimCmap(cmap []byte) []byte {
	if len(cmap) < 12 || be.Uint16(cmap[2:]) != 1 {
		return cmap
	}
	off := int(be.Uint32(cmap[8:]))
	if off < 12 || off+14 > len(cmap) || be.Uint16(cmap[off:]) != 4 {
		return cmap
	}
	segs := int(be.Uint16(cmap[off+6:])) / 2
	end := off + 16 + 8*segs
	if end > len(cmap) {
		return cmap
	}
	for _, r := range cmap[end-2*segs : end] { // idRangeOffset
		if r != 0 {
			return cmap
		}
	}
	out := append([]byte(nil), cmap[:end]...)
	be.PutUint16(out[off+2:], uint16(end-off))
	return out
}

// trimName returns a format 0 name table with only the records whose name
// ID is at most keptNameIDs, in their order, sharing equal strings.
func trimName(name []byte) ([]byte, error) {
	if len(name) < 6 {
		return nil, fmt.Errorf("name table: %d bytes", len(name))
	}
	if f := be.Uint16(name); f != 0 {
		return nil, fmt.Errorf("name table: format %d, want 0", f)
	}
	count, storage := int(be.Uint16(name[2:])), int(be.Uint16(name[4:]))
	if len(name) < 6+12*count || storage > len(name) {
		return nil, fmt.Errorf("name table: %d records cut off at %d bytes", count, len(name))
	}
	var recs [][]byte
	var strs []byte
	at := map[string]int{}
	ps := false
	for i := range count {
		rec := append([]byte(nil), name[6+12*i:18+12*i]...)
		id := be.Uint16(rec[6:])
		if id > keptNameIDs {
			continue
		}
		length, off := int(be.Uint16(rec[8:])), storage+int(be.Uint16(rec[10:]))
		if off+length > len(name) {
			return nil, fmt.Errorf("name table: record %d past the end", i)
		}
		s := string(name[off : off+length])
		o, ok := at[s]
		if !ok {
			o = len(strs)
			at[s] = o
			strs = append(strs, s...)
		}
		if o > 0xFFFF {
			return nil, fmt.Errorf("name table: strings over 64 KB")
		}
		be.PutUint16(rec[10:], uint16(o))
		recs = append(recs, rec)
		ps = ps || id == 6
	}
	if !ps {
		return nil, fmt.Errorf("name table: no PostScript name (name ID 6)")
	}
	out := make([]byte, 6, 6+12*len(recs)+len(strs))
	be.PutUint16(out[2:], uint16(len(recs)))
	be.PutUint16(out[4:], uint16(6+12*len(recs)))
	for _, rec := range recs {
		out = append(out, rec...)
	}
	return append(out, strs...), nil
}

// writeFont assembles a TrueType file from its tables: directory sorted by
// tag with the binary-search fields, each table at a 4-byte boundary and
// zero padded, table checksums, and head.checkSumAdjustment so that the
// whole file sums to 0xB1B0AFBA.
func writeFont(tables map[string][]byte) []byte {
	tags := make([]string, 0, len(tables))
	for tag := range tables {
		tags = append(tags, tag)
	}
	sort.Strings(tags)
	n := len(tags)
	pow, log := 1, 0
	for pow*2 <= n {
		pow, log = pow*2, log+1
	}
	out := make([]byte, 12+16*n)
	be.PutUint32(out, 0x00010000)
	be.PutUint16(out[4:], uint16(n))
	be.PutUint16(out[6:], uint16(16*pow)) // searchRange
	be.PutUint16(out[8:], uint16(log))    // entrySelector
	be.PutUint16(out[10:], uint16(16*(n-pow)))
	headAt := -1
	for i, tag := range tags {
		t := tables[tag]
		off := len(out)
		out = append(out, t...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		if tag == "head" {
			headAt = off
			be.PutUint32(out[off+8:], 0) // checkSumAdjustment, counted as 0
		}
		rec := out[12+16*i:]
		copy(rec, tag)
		be.PutUint32(rec[4:], checksum(out[off:]))
		be.PutUint32(rec[8:], uint32(off))
		be.PutUint32(rec[12:], uint32(len(t)))
	}
	if headAt >= 0 {
		be.PutUint32(out[headAt+8:], 0xB1B0AFBA-checksum(out))
	}
	return out
}

// checksum is the TrueType checksum of b, which is a multiple of 4 bytes
// long: the sum of its big-endian uint32s.
func checksum(b []byte) uint32 {
	var sum uint32
	for i := 0; i+4 <= len(b); i += 4 {
		sum += be.Uint32(b[i:])
	}
	return sum
}
