import Testing
import TocsinCore
@testable import TocsinWorkers

/// The ingest replies written directly are the bytes `JSONWriter` writes, for ids that need escaping too.
@Suite struct ReplyTests {
    static func viaWriter(id: String, _ status: String) -> [UInt8] {
        var w = JSONWriter(capacity: 64)
        w.beginObject()
        w.field("id", id)
        w.field("status", status)
        w.endObject()
        return w.bytes
    }

    @Test(arguments: ["gauge-17-0000000042", "e1", "", "with \"quotes\" and \\ backslash", "tab\there",
                      "\u{1}control", "é ünïcode 深圳", String(repeating: "x", count: 128)])
    func statusRepliesAreWhatJSONWriterWrites(_ id: String) throws {
        for status in ["accepted", "duplicate"] {
            let reply = Reply.status(id: id, status)
            #expect(reply == Self.viaWriter(id: id, status))
            let parsed = try JSONValue.parse(reply)
            #expect(parsed["id"]?.stringValue == id)
            #expect(parsed["status"]?.stringValue == status)
        }
    }

    /// One buffer written over for each reply of a batch: each reply is the one written on its own, whatever
    /// came before it (a longer id, another status).
    @Test func aReusedBufferHoldsExactlyEachReply() {
        var buffer: [UInt8] = []
        for (id, status) in [("a-much-longer-identifier-0001", "duplicate"), ("e1", "accepted"), ("", "duplicate"),
                             ("with \"quotes\"", "accepted"), ("x", "custom")] {
            Reply.status(id: id, status, into: &buffer)
            #expect(buffer == Self.viaWriter(id: id, status))
        }
    }
}
