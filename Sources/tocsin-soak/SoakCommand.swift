import ArgumentParser
import Dispatch
import Foundation
import Synchronization
import TocsinCore
import TocsinTesting

/// The fault suite's child processes (Tests/TocsinSoakTests, `make soak`): platforms and command centers that the
/// suite can kill, pause and restart like any other process. The suite itself runs under `swift test`.
@main
struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tocsin-soak",
        abstract: "Child processes of the fault suite: a platform that keeps its order, a command-center subscriber.",
        subcommands: [PlatformCommand.self, SubscriberCommand.self, RequestCommand.self])
}

struct PlatformCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "platform",
        abstract: "Send a JSON-lines file of events in order; write every event's outcome.",
        discussion: """
            Writes RESULTS with one line per event, in send order: `id<TAB>status<TAB>attempts` (status `-` when
            no reply came before the deadline), and a summary line on stdout. Exit status 0 when every event was
            answered, 3 otherwise.
            """)

    @Option(help: "The ingest endpoint.") var endpoint: String
    @Option(help: "A JSON-lines file of events, in send order; ids unique.") var events: String
    @Option(help: "Where to write the outcome of every event.") var results: String
    @Option(help: "Events in flight at most.") var window: Int = 100
    @Option(help: "Seconds without a reply before everything unanswered is resent.") var timeout: Double = 1
    @Option(help: "Longest time-out after repeated resends.") var maxTimeout: Double = 4
    @Option(help: "New events per second at most (0: unlimited).") var rate: Double = 0
    @Option(help: "Seconds before giving up.") var deadline: Double = 600
    @Flag(help: "Resend on the same socket (the naive client, which loses the order after a crash).")
    var sameSocket = false

    func run() throws {
        guard let data = FileManager.default.contents(atPath: events) else {
            throw ValidationError("cannot read \(events)")
        }
        let lines = [UInt8](data).split(separator: UInt8(ascii: "\n")).map(Array.init)
        var ids: [String] = []
        for (n, line) in lines.enumerated() {
            guard case .string(let id)? = (try? JSONValue.parse(line))?["id"] else {
                throw ValidationError("\(events):\(n + 1): not an event with a string id")
            }
            ids.append(id)
        }
        let platform = try SoakPlatform(.init(endpoint: endpoint, window: window, timeout: timeout,
                                              maxTimeout: maxTimeout, rate: rate, deadline: deadline,
                                              sameSocket: sameSocket))
        defer { platform.close() }
        let outcome = try platform.run(events: lines, ids: ids)
        var text = ""
        for i in ids.indices { text += "\(ids[i])\t\(outcome.statuses[i] ?? "-")\t\(outcome.attempts[i])\n" }
        try text.write(toFile: results, atomically: true, encoding: .utf8)
        let unanswered = outcome.statuses.filter { $0 == nil }.count
        print("""
            {"events":\(ids.count),"unanswered":\(unanswered),"resent":\(outcome.resent),\
            "reconnects":\(outcome.reconnects),"lateReplies":\(outcome.lateReplies),\
            "strayReplies":\(outcome.strayReplies),"seconds":\(String(format: "%.2f", outcome.seconds))}
            """)
        if unanswered > 0 { throw ExitCode(3) }
    }
}

struct SubscriberCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subscriber",
        abstract: "Follow the feed for one topic prefix, repairing through since, until SIGTERM.",
        discussion: """
            Appends every message of the prefix, in seq order, to OUTPUT as `seq<TAB>topic<TAB>id<TAB>detail`
            and resumes after its last line when started again. On SIGTERM it repairs once more, prints its
            counts as JSON on stdout and exits 0.
            """)

    @Option(help: "The feed endpoint.") var feed: String
    @Option(help: "The command endpoint.") var command: String
    @Option(help: "The topic prefix.") var prefix: String = ""
    @Option(help: "The output file (appended).") var output: String
    @Option(help: "Milliseconds of work per message (a slow command center).") var delay: Int = 0
    @Option(help: "Seconds before giving up without SIGTERM.") var deadline: Double = 900

    func run() throws {
        let stopping = Atomic<Bool>(false)
        signal(SIGTERM, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        source.setEventHandler { stopping.store(true, ordering: .releasing) }
        source.resume()
        let subscriber = try SoakSubscriber(.init(feed: feed, command: command, prefix: prefix, output: output,
                                                  delayMilliseconds: delay))
        defer { subscriber.close() }
        let end = Date().addingTimeInterval(deadline)
        let c = try subscriber.run { stopping.load(ordering: .acquiring) || Date() > end }
        print("""
            {"live":\(c.live),"repaired":\(c.repaired),"duplicates":\(c.duplicates),"sinceCalls":\(c.sinceCalls),\
            "sinceTimeouts":\(c.sinceTimeouts),"resumed":\(c.resumed),"last":\(c.last)}
            """)
        _ = source
    }
}

struct RequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request", abstract: "Send one request to the command endpoint and print the reply.")

    @Option(help: "The command endpoint.") var command: String
    @Argument(help: "The request, e.g. {\"op\":\"progress\"}.") var request: String
    @Option(help: "Seconds to wait for the reply.") var timeout: Double = 5

    func run() throws {
        let client = try WireClient(endpoint: command)
        defer { client.close() }
        guard let reply = try client.request(request, timeoutMilliseconds: Int32(timeout * 1000)) else {
            printError("no reply within \(timeout) s")
            throw ExitCode(3)
        }
        print(reply.serializedString())
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
