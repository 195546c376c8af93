import Testing
import TocsinWatch

@Suite struct KeyDecoderTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func lettersAndArrowsBecomeKeys() {
        var d = KeyDecoder()
        #expect(d.feed(Self.bytes("jkasdq")) == [.down, .up, .acknowledgeWarning, .acknowledgeStep, .stepDone, .quit])
        #expect(d.feed(Self.bytes("\u{1B}[A\u{1B}[B\u{1B}OA\u{1B}OB")) == [.up, .down, .up, .down])
        #expect(d.feed([0x03]) == [.quit])
    }

    @Test func aSequenceSplitAcrossReadsIsKeptForTheNextOne() {
        var d = KeyDecoder()
        #expect(d.feed([0x1B]).isEmpty)
        #expect(d.feed(Self.bytes("[")).isEmpty)
        #expect(d.feed(Self.bytes("Bj")) == [.down, .down])
    }

    @Test func unknownKeysAndSequencesAreIgnored() {
        var d = KeyDecoder()
        // Right arrow, F5 (`ESC [ 1 5 ~`), page down, a lone Escape, other letters.
        #expect(d.feed(Self.bytes("\u{1B}[C\u{1B}[15~\u{1B}[6~xyz")) == [])
        #expect(d.feed(Self.bytes("\u{1B}a")) == [.acknowledgeWarning])
        // A runaway sequence that never ends is dropped instead of swallowing every later key.
        #expect(d.feed([0x1B, UInt8(ascii: "[")] + [UInt8](repeating: UInt8(ascii: "1"), count: 40)) == [])
        #expect(d.feed(Self.bytes("q")) == [.quit])
    }
}
