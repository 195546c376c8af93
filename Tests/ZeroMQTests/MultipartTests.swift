import Testing
import ZeroMQ

@Suite("Multipart messages")
struct MultipartTests {
    /// Frames with distinct contents, including an empty one and binary bytes.
    static func frames(_ count: Int) -> [[UInt8]] {
        (0..<count).map { index in
            switch index % 3 {
            case 0: bytes("frame-\(index)")
            case 1: index == 1 ? [] : [0, 255, UInt8(index % 256), 0]
            default: [UInt8](repeating: UInt8(index % 251), count: index % 97)
            }
        }
    }

    @Test("1, 2 and 1,000 frames arrive intact, message boundaries kept",
          arguments: [1, 2, 1000], Transport.allCases)
    func multipart(frameCount: Int, transport: Transport) throws {
        try withPushPull(transport) { push, pull in
            let sent = Self.frames(frameCount)
            #expect(try push.send(sent))
            #expect(try push.send(Message(strings: ["next"])))
            #expect(try push.send(sent))

            // The more flag splits the stream back into the same three messages.
            let first = try #require(try pull.receive(maxFrames: 2000))
            #expect(first.frames.count == frameCount)
            #expect(first.frames == sent)
            #expect(!first.truncated)
            let second = try #require(try pull.receive(maxFrames: 2000))
            #expect(second.strings == ["next"])
            let third = try #require(try pull.receive(maxFrames: 2000))
            #expect(third.frames == sent)
            #expect(try pull.receive(dontWait: true) == nil)
        }
    }

    @Test("send(envelope:body:) is send(envelope + [body]): the same frames, message boundaries kept",
          arguments: [0, 1, 2, 5])
    func envelopeAndBody(envelopeCount: Int) throws {
        try withPushPull(.inproc) { push, pull in
            let envelope = Self.frames(envelopeCount)
            for body in [bytes("answer"), [], [0, 1, 2]] {
                #expect(try push.send(envelope: envelope, body: body))
                let message = try #require(try pull.receive(maxFrames: 100))
                #expect(message.frames == envelope + [body])
                // The envelope as the first frames of a longer list (its indices start past 0 here).
                let list = [bytes("before")] + envelope + [bytes("after")]
                #expect(try push.send(envelope: list[1..<(1 + envelopeCount)], body: body))
                let again = try #require(try pull.receive(maxFrames: 100))
                #expect(again.frames == envelope + [body])
            }
            #expect(try pull.receive(dontWait: true) == nil)
        }
    }

    @Test("send(frame:) is send([frame]); receiveLast reads each message's last frame in place, boundaries kept",
          arguments: Transport.allCases)
    func singleFrameAndLastFrame(transport: Transport) throws {
        try withPushPull(transport) { push, pull in
            for body in [bytes("answer"), [], [0, 255, 0, 7]] {
                #expect(try body.withUnsafeBytes { try push.send(frame: $0) })
                let message = try #require(try pull.receive())
                #expect(message.frames == [body])
            }
            // Multipart messages: only the last frame reaches the closure, and the next message is intact.
            for count in [1, 2, 5] {
                let sent = Self.frames(count)
                #expect(try push.send(sent))
                var last: [UInt8]?
                #expect(try pull.receiveLast { last = Array($0) })
                #expect(last == sent.last)
            }
            #expect(try push.send(Message(strings: ["a", "b"])))
            #expect(try push.send(Message(strings: ["next"])))
            var texts: [String] = []
            while try pull.receiveLast(dontWait: texts.count == 2, { texts.append(String(decoding: $0, as: UTF8.self)) }) {}
            #expect(texts == ["b", "next"])
        }
    }

    @Test("A message over maxFrames is truncated and the next message is intact")
    func truncated() throws {
        try withPushPull(.tcp) { push, pull in
            let sent = Self.frames(10)
            try push.send(sent)
            try push.send(Message(strings: ["after"]))

            let cut = try #require(try pull.receive(maxFrames: 4))
            #expect(cut.truncated)
            #expect(cut.frames == Array(sent.prefix(4)))
            let after = try #require(try pull.receive(maxFrames: 4))
            #expect(!after.truncated)
            #expect(after.strings == ["after"])
        }
    }

    @Test("Exactly maxFrames frames is not truncated")
    func exactlyMaxFrames() throws {
        try withPushPull(.inproc) { push, pull in
            try push.send(Self.frames(4))
            let message = try #require(try pull.receive(maxFrames: 4))
            #expect(!message.truncated)
            #expect(message.frames.count == 4)
        }
    }
}
