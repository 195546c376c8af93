import ArgumentParser
import Foundation
import TocsinConfig
import TocsinCore
import TocsinWatch
import ZeroMQ

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "The live console of a command center: warnings and tasks of a level and area, with keys to act.",
        discussion: """
            Subscribes to the feed for one owning level (or all) and an area, starts from `active`, repairs gaps
            with `since`, and redraws a colour-coded table at least once a second. Keys: up/down or j/k select,
            a acknowledges the selected warning, s acknowledges the selected step, d marks it done, q quits.
            Acknowledgements and steps are made as --by. When the output is not a terminal, or with --once, it
            prints one plain snapshot and exits. Exit status: 0; 1 when the command endpoint does not answer
            (--once) or the terminal cannot be set up; 2 for a configuration error; 64 for a bad option.
            """)

    @Option(name: .long, help: "The main configuration file.") var config: String = ConfigLoader.defaultPath
    @Option(help: "The feed endpoint (default: the config's).") var feed: String?
    @Option(help: "The command endpoint (default: the config's).") var command: String?
    @Option(help: "The owning level to watch: street, district or city (default: all three).") var level: String?
    @Option(help: "The area to watch, with everything below it (default: the city).") var area: String?
    @Flag(help: "Watch exercise (drill) traffic instead of actual traffic.") var exercise = false
    @Option(help: "The area that acknowledges and moves steps (default: --area).") var by: String?
    @Flag(help: "Print one plain snapshot and exit.") var once = false
    @Flag(help: "No colours.") var noColour = false
    @Option(help: "The server's CURVE public key (Z85); default: derived from the config's server key.") var serverKey: String?
    @Option(help: "This console's CURVE secret key (Z85), when security is on.") var secretKey: String?
    @Option(help: "Append log lines here (default: standard error when it is not the terminal).") var log: String?

    func run() throws {
        let cfg: TocsinConfiguration
        do {
            cfg = try ConfigLoader.load(path: config)
        } catch {
            printError(error.description)
            throw ExitCode(2)
        }
        let options = try consoleOptions(cfg)
        let terminal = Terminal()
        let sink = LogSink(path: log, interactive: terminal.isInteractive && !once)
        if once || !terminal.isInteractive {
            // Plain text for a pipe or a file: colours only on a terminal.
            var plain = options
            plain.colour = options.colour && isatty(STDOUT_FILENO) == 1
            let console = WatchConsole(options: plain, log: sink.write)
            if !once { sink.write("the output is not a terminal: printing one snapshot (as --once)") }
            let width = terminal.size()?.columns ?? ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init) ?? 160
            do {
                print(try console.snapshot(width: width, timeout: options.timeoutSeconds))
            } catch {
                printError("tocsin watch: \(error)")
                throw ExitCode(1)
            }
            return
        }
        do {
            try WatchConsole(options: options, log: sink.write).run(terminal: terminal)
        } catch {
            printError("tocsin watch: \(error)")
            throw ExitCode(1)
        }
    }

    /// The console's options from the flags and the config; a bad flag is a `ValidationError` (exit 64 with usage).
    func consoleOptions(_ cfg: TocsinConfiguration) throws -> WatchConsole.Options {
        guard let city = cfg.areas.sorted.first(where: { $0.path.level == .city })?.path else {
            throw ValidationError("the configuration's areas have no city")
        }
        let watched = try area.map { try registered($0, "--area", cfg) } ?? city
        let actor = try by.map { try registered($0, "--by", cfg) } ?? watched
        var watchedLevel: Level?
        if let level {
            guard let l = Level(rawValue: level) else {
                throw ValidationError("--level: unknown level \"\(level)\" (expected street, district or city)")
            }
            watchedLevel = l
        }
        var curve: CurveClient?
        let serverPublic = try serverKey ?? cfg.security.serverSecretKey.map { try CurveKeyPair.publicKey(forSecret: $0) }
        if cfg.security.mode == .curve || serverKey != nil {
            guard let serverPublic, let secretKey else {
                throw ValidationError("security is on: give this console's --secret-key (and --server-key unless the config has the server's key)")
            }
            let keys: CurveKeyPair
            do {
                keys = CurveKeyPair(publicKey: try CurveKeyPair.publicKey(forSecret: secretKey), secretKey: secretKey)
            } catch {
                throw ValidationError("--secret-key: expected a 40-character Z85 CURVE secret key")
            }
            curve = CurveClient(serverKey: serverPublic, keys: keys)
        }
        return WatchConsole.Options(
            feed: feed ?? cfg.endpoints.feed, command: command ?? cfg.endpoints.command,
            scope: WatchScope(status: exercise ? .exercise : .actual, level: watchedLevel, area: watched),
            by: actor, curve: curve, colour: !noColour, utcOffsetSeconds: TimeZone.current.secondsFromGMT())
    }

    func registered(_ text: String, _ flag: String, _ cfg: TocsinConfiguration) throws -> AreaPath {
        guard let path = AreaPath(text) else { throw ValidationError("\(flag): \"\(text)\" is not an area path") }
        guard cfg.areas.contains(path) else { throw ValidationError("\(flag): \(text) is not a registered area") }
        return path
    }
}

/// Where the console's log lines go: a file, or standard error unless the console draws on that terminal.
final class LogSink: Sendable {
    let handle: FileHandle?

    init(path: String?, interactive: Bool) {
        if let path {
            if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
            let handle = FileHandle(forWritingAtPath: path)
            handle?.seekToEndOfFile()
            self.handle = handle
            if handle == nil { printError("tocsin watch: cannot write the log to \(path); logging to nowhere") }
        } else {
            handle = interactive && isatty(STDERR_FILENO) == 1 ? nil : FileHandle.standardError
        }
    }

    func write(_ line: String) {
        handle?.write(Data("\(WatchLogTime.now()) tocsin watch: \(line)\n".utf8))
    }
}

/// The time stamp of a log line (RFC 3339, UTC).
enum WatchLogTime {
    static func now() -> String {
        Timestamp(seconds: Date().timeIntervalSince1970).rfc3339
    }
}
