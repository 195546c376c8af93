import Logging
import Synchronization
import Testing
import TocsinWorkers

/// Collects log messages, for tests.
final class CapturedLog: Sendable {
    let lines = Mutex<[String]>([])
    var handler: CapturingHandler { CapturingHandler(sink: self) }

    struct CapturingHandler: LogHandler {
        let sink: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
                 file: String, function: String, line: UInt) {
            sink.lines.withLock { $0.append(message.description) }
        }
    }
}

@Suite struct RateLimitedLogTests {
    @Test func holdsBackRepeatsAndSaysHowMany() {
        let captured = CapturedLog()
        let logger = Logger(label: "test") { _ in captured.handler }
        let time = Mutex(0.0)
        var log = RateLimitedLog(limit: 3, window: 10, clock: { time.withLock { $0 } })
        for i in 0..<8 { log.log(logger, "rejected \(i)") }
        #expect(captured.lines.withLock { $0 } == ["rejected 0", "rejected 1", "rejected 2"])
        time.withLock { $0 = 10 }
        log.log(logger, "rejected 8")
        #expect(captured.lines.withLock { $0 }.suffix(2) == ["5 similar messages suppressed in the last 10s", "rejected 8"])
    }
}
