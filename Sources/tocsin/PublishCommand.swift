import ArgumentParser
import Foundation
import TocsinConfig
import TocsinCore
import TocsinWorkers
import ZeroMQ

struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Send events to a running Tocsin: JSON lines from a file or stdin, or one event from flags.",
        discussion: """
            Events are pipelined with a bounded window; an event that gets no reply within --timeout is resent
            (always safe: the gateway answers `duplicate` for one it already journaled). Prints progress on
            stderr and a summary at the end. Exit status: 0 all accepted or duplicate, 1 some rejected,
            3 some never answered.
            """)

    @Option(help: "The ingest endpoint.") var endpoint: String = "tcp://127.0.0.1:7701"
    @Option(help: "A JSON-lines file of events; '-' or no file and no --type reads stdin.") var file: String?
    @Option(help: "Events in flight at most.") var window: Int = 1000
    @Option(help: "Seconds to wait for a reply before resending.") var timeout: Double = 3
    @Option(help: "Resends per event before giving up.") var retries: Int = 5
    @Option(help: "The server's CURVE public key (Z85), when security is on.") var serverKey: String?
    @Option(help: "This platform's CURVE secret key (Z85).") var secretKey: String?
    @Flag(help: "No progress line.") var quiet = false

    // One event from flags.
    @Option(help: "One event: its type, e.g. water_level or report.fire.") var type: String?
    @Option(help: "One event: the publishing platform's area path.") var source: String?
    @Option(help: "One event: sensor or report (default: sensor, or report for report.* types).") var kind: String?
    @Option(help: "One event: its id (default: a generated one).") var id: String?
    @Option(help: "One event: latitude.") var lat: Double?
    @Option(help: "One event: longitude.") var lon: Double?
    @Option(help: "One event: a value as NAME=NUMBER; repeat for several.") var value: [String] = []
    @Option(help: "One event: RFC 3339 time (default: now).") var time: String?
    @Option(help: "One event: the area it happened in (default: source).") var area: String?
    @Option(help: "One event: free text.") var text: String?
    @Option(help: "One event: actual, exercise or test.") var status: String?

    func run() throws {
        var lines: [[UInt8]] = []
        if let type {
            lines = [try singleEvent(type: type)]
        } else if let file, file != "-" {
            guard let data = FileManager.default.contents(atPath: file) else {
                printError("cannot read \(file)")
                throw ExitCode(2)
            }
            lines = splitLines([UInt8](data))
        } else {
            lines = splitLines([UInt8](FileHandle.standardInput.readDataToEndOfFile()))
        }
        let publisher = try Publisher(endpoint: endpoint, window: window, timeout: timeout, retries: retries,
                                      serverKey: serverKey, secretKey: secretKey)
        defer { publisher.close() }
        let summary = try publisher.publish(lines) { progress in
            if !quiet { FileHandleWriter.writeStderr("\r\(progress.line)") }
        }
        if !quiet { FileHandleWriter.writeStderr("\n") }
        print(summary.report)
        if summary.unanswered > 0 { throw ExitCode(3) }
        if summary.rejected > 0 { throw ExitCode(1) }
    }

    func singleEvent(type: String) throws -> [UInt8] {
        guard let source else { throw ValidationError("--source is required with --type") }
        guard let lat, let lon else { throw ValidationError("--lat and --lon are required with --type") }
        var w = JSONWriter()
        w.beginObject()
        w.field("id", id ?? "cli-\(UUID().uuidString.prefix(12).lowercased())")
        w.field("source", source)
        w.field("kind", kind ?? (type.hasPrefix("report.") ? "report" : "sensor"))
        w.field("type", type)
        w.field("time", time ?? WallClock.now().rfc3339)
        w.key("location")
        w.beginObject()
        w.field("lat", lat)
        w.field("lon", lon)
        w.endObject()
        if let area { w.field("area", area) }
        if !value.isEmpty {
            w.key("values")
            w.beginObject()
            for v in value {
                let parts = v.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, let number = Double(parts[1]) else {
                    throw ValidationError("--value expects NAME=NUMBER, got \(v)")
                }
                w.field(String(parts[0]), number)
            }
            w.endObject()
        }
        if let text { w.field("text", text) }
        if let status { w.field("status", status) }
        w.endObject()
        return w.bytes
    }
}

func splitLines(_ bytes: [UInt8]) -> [[UInt8]] {
    bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        .map { Array($0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0[...]) }
        .filter { !$0.allSatisfy { $0 == 32 || $0 == 9 } }
}
