import Foundation
import Testing
import TocsinCore
import TocsinTesting

/// `tocsin watch` as an operator sees it: a real `tocsin run`, the console inside a detached tmux session of a
/// fixed size (tmux gives it a terminal), a short drill driven into the running pipeline, and the screen read
/// back with `tmux capture-pane`.
@Suite(.serialized) struct WatchTmuxTests {
    /// A two-minute drill: two district-level incidents in Futian (what the console must show), a street-level
    /// fire in Futian and a district-level flood in Nanshan (what it must not).
    static let scenario = """
        name: Watch console check
        start: 2026-09-16T10:00:00+08:00
        duration: 2m
        step: 30s
        injects:
          - name: Shatou river gauge past the district threshold
            at: "10:00"
            from: sz.futian.shatou
            type: water_level
            location: {lat: 22.5277, lon: 114.0250}
            values: {level_m: 3.2}
          - name: Fire with an injured resident in Lianhua
            at: "10:00"
            from: sz.futian.lianhua
            type: report.fire
            location: {lat: 22.5550, lon: 114.0560}
            values: {injured: 1}
            text: Smoke from a kitchen on the 6th floor, one resident hurt.
          - name: Small kitchen fire in Meilin (street level)
            at: "10:00"
            from: sz.futian.meilin
            type: report.fire
            location: {lat: 22.5700, lon: 114.0500}
            text: Small kitchen fire, put out by the owner.
          - name: Yuehai gauge (another district)
            at: "10:00"
            from: sz.nanshan.yuehai
            type: water_level
            location: {lat: 22.5290, lon: 113.9450}
            values: {level_m: 3.3}
        """

    @Test(.timeLimit(.minutes(3)))
    func theScreenShowsTheWarningRowsOfAShortDrillAndAcknowledges() throws {
        let tmuxPath = try #require(Tmux.executable, "tmux is not installed (make deps installs it)")
        let dir = Fixtures.temporaryDirectory("tocsin-watch")
        defer { Fixtures.removeTemporary(dir) }
        let config = try writeTCPTestConfig(dir: dir)
        // writeTCPTestConfig turns the HTTP server off: its default port is fixed, and a `tocsin run` that cannot
        // bind it (another test's has it) exits.
        #expect(try String(contentsOfFile: config.path, encoding: .utf8).contains("http: {listen: off}"))
        let run = try ChildProcess(arguments: ["run", "--config", config.path], logPath: dir + "/run.log")
        defer {
            run.kill(SIGTERM)
            _ = run.wait(timeout: 10)
        }
        let client = try WireClient(endpoint: config.command)
        defer { client.close() }
        try Self.waitReady(client, run)

        let tmux = Tmux(executable: tmuxPath, socket: "tocsin-watch-\(UUID().uuidString.prefix(8))")
        defer { tmux.killServer() }
        let watch = [ChildProcess.tocsinBinary, "watch", "--config", config.path, "--exercise", "--level", "district",
                     "--area", "sz.futian", "--log", dir + "/watch.log"].map(Tmux.quoted).joined(separator: " ")
        try tmux.newSession(width: 160, height: 40, command: "\(watch); echo WATCH-EXITED $?; sleep 60")
        // Started and synchronised: the banner, and the first replies of the command endpoint.
        var screen = try tmux.waitForScreen(seconds: 30) { $0.contains("EXERCISE - drill traffic only") && $0.contains("| connected") }
        #expect(screen.contains("no open warnings"), "\(screen)")

        try Self.writeAndRunDrill(dir: dir, config: config.path)

        // The rows of the two district-level warnings of Futian.
        screen = try tmux.waitForScreen(seconds: 30) { s in
            Self.rows(s).contains { $0.contains("flood") } && Self.rows(s).contains { $0.contains("fire") }
        }
        let rows = Self.rows(screen)
        let flood = try #require(rows.first { $0.contains("flood") }, "\(screen)")
        let fire = try #require(rows.first { $0.contains("fire") }, "\(screen)")
        for (row, area) in [(flood, "sz.futian.shatou"), (fire, "sz.futian.lianhua")] {
            #expect(row.contains("III yellow"), "\(row)")
            #expect(row.contains(area), "\(row)")
            #expect(row.contains("district") && row.contains("sz.futian "), "\(row)")
        }
        #expect(!screen.contains("sz.nanshan"), "\(screen)")  // another district
        #expect(!screen.contains("sz.futian.meilin"), "\(screen)")  // owned by the street
        // The screen agrees with dispatch: the same warnings as `active` for this scope.
        let active = try #require(try client.request(#"{"op":"active","prefix":"exercise/warning/district/sz.futian."}"#))
        let ids = (active["warnings"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        #expect(ids.count == 2)
        for id in ids { #expect(rows.contains { $0.contains(" \(id) ") }, "\(id) in \(screen)") }
        #expect(screen.contains("Warnings: 2"))
        let header = try #require(screen.split(separator: "\n").map(String.init).first { $0.contains("ACK BY") })
        for row in rows { #expect(Screen.cell(row, under: "ACK BY", in: header) == "-", "\(row)") }
        // And the same tasks (the response plans' steps owned by the district).
        let tasks = try #require(try client.request(#"{"op":"active","prefix":"exercise/task/district/sz.futian."}"#))
        let taskCount = tasks["tasks"]?.arrayValue?.count ?? -1
        #expect(taskCount > 0)
        _ = try tmux.waitForScreen(seconds: 10) { $0.contains("Tasks: \(taskCount)") }

        // `--once` prints the same board as plain text and exits (also what a pipe gets).
        let once = try ChildProcess(arguments: ["watch", "--config", config.path, "--exercise", "--level", "district",
                                                "--area", "sz.futian", "--once"], logPath: dir + "/once.out")
        #expect(once.wait(timeout: 30) == 0)
        #expect(!once.log.contains("\u{1B}"), "\(once.log)")
        #expect(once.log.contains("EXERCISE - drill traffic only") && once.log.contains("Warnings: 2"), "\(once.log)")
        for id in ids { #expect(once.log.contains(" \(id) "), "\(once.log)") }

        // `a` acknowledges the selected row (the first) as --by, which defaults to the watched area.
        let selected = try #require(rows.first { $0.hasPrefix(">") }, "\(screen)")
        let selectedID = try #require(ids.first { selected.contains(" \($0) ") })
        try tmux.sendKeys("a")
        screen = try tmux.waitForScreen(seconds: 15) { $0.contains("\(selectedID) (") && $0.contains("acknowledged by sz.futian") }
        let acknowledged = try #require(try client.request(#"{"op":"active","prefix":"exercise/warning/district/sz.futian."}"#))
        let warning = try #require(acknowledged["warnings"]?.arrayValue?.first { $0["id"]?.stringValue == selectedID })
        #expect(warning["acknowledgedBy"] == "sz.futian")
        // The row shows who acknowledged it; the other row is still waiting.
        for row in Self.rows(screen) {
            #expect(Screen.cell(row, under: "ACK BY", in: header) == (row.contains(" \(selectedID) ") ? "sz.futian" : "-"), "\(row)")
        }

        // `q` leaves the console with status 0 and the terminal restored (the shell's echo shows on the main screen).
        try tmux.sendKeys("q")
        screen = try tmux.waitForScreen(seconds: 15) { $0.contains("WATCH-EXITED") }
        #expect(screen.contains("WATCH-EXITED 0"), "\(screen)")
        #expect(!screen.contains("EXERCISE - drill traffic only"))
        // Nothing went wrong on the way: no bad message, no lost request.
        let log = try String(contentsOfFile: dir + "/watch.log", encoding: .utf8)
        #expect(log.isEmpty, "\(log)")
    }

    @Test(arguments: [
        (["--level", "borough"], "--level: unknown level \"borough\" (expected street, district or city)"),
        (["--area", "sz.nowhere"], "--area: sz.nowhere is not a registered area"),
        (["--by", "SZ"], "--by: \"SZ\" is not an area path"),
    ])
    func badOptionsAreRefusedBeforeConnecting(arguments: [String], message: String) throws {
        let dir = Fixtures.temporaryDirectory("tocsin-watch")
        defer { Fixtures.removeTemporary(dir) }
        let child = try ChildProcess(arguments: ["watch", "--config", Fixtures.configPath, "--once"] + arguments,
                                     logPath: dir + "/out")
        #expect(child.wait(timeout: 20) == 64)
        #expect(child.log.contains(message), "\(child.log)")
    }

    /// The warning rows of a captured screen: lines after the warnings' header, up to the tasks' title.
    static func rows(_ screen: String) -> [String] {
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("Warnings:") }) else { return [] }
        let rest = lines[(start + 2)...]
        return Array(rest.prefix { !$0.hasPrefix("Tasks:") }).filter { $0.contains(" w-") }
    }

    static func waitReady(_ client: WireClient, _ run: ChildProcess) throws {
        try client.send(#"{"op":"stats"}"#)
        for _ in 0..<150 {
            if let r = try client.reply(timeoutMilliseconds: 200), r["ok"] == true { return }
        }
        Issue.record("tocsin run did not answer stats: \(run.log)")
        throw WatchTestError("not ready")
    }

    static func writeAndRunDrill(dir: String, config: String) throws {
        let path = dir + "/watch-check.yaml"
        try scenario.write(toFile: path, atomically: true, encoding: .utf8)
        let drill = try ChildProcess(arguments: ["drill", path, "--connect", "--config", config, "--speed", "30", "--quiet"],
                                     logPath: dir + "/drill.log")
        let status = drill.wait(timeout: 90)
        if status == nil { drill.kill(SIGKILL) }
        #expect(status == 0, "\(drill.log)")
    }
}

struct WatchTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A private tmux server (its own socket, no user config) for driving a console.
struct Tmux {
    static var executable: String? {
        ["/usr/bin/tmux", "/usr/local/bin/tmux", "/opt/homebrew/bin/tmux"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    let executable: String
    let socket: String

    /// Single-quoted for the shell tmux runs the command with.
    static func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// Runs a tmux command; its output, or an error with its output when it fails or hangs (10 s).
    ///
    /// Spawned with `posix_spawn` and reaped with `waitpid`, not with Foundation's `Process`: on Linux, `Process`
    /// reports a child as running while any process holds a descriptor it inherited, and the tmux server that
    /// `new-session` forks keeps it for its whole life. The child also starts with no signal blocked or
    /// ignored, whatever the test thread's mask, so that the server notices its pane's exit and `kill-server`.
    @discardableResult
    func run(_ arguments: [String]) throws -> String {
        let outputPath = NSTemporaryDirectory() + "tocsin-tmux-\(UUID().uuidString.prefix(8)).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        var environment = ProcessInfo.processInfo.environment
        environment["TERM"] = "xterm-256color"
        environment.removeValue(forKey: "TMUX")
        let argv = [executable, "-L", socket, "-f", "/dev/null"] + arguments
        let pid = try Self.spawn(argv, environment: environment.map { "\($0.key)=\($0.value)" }, output: outputPath)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(10)
        while waitpid(pid, &status, WNOHANG) == 0 {
            guard Date() < deadline else {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw WatchTestError("tmux \(arguments.joined(separator: " ")) hung")
            }
            usleep(10_000)
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            throw WatchTestError("tmux \(arguments.joined(separator: " ")) failed (status \(status)): \(text)")
        }
        return text
    }

    /// `posix_spawn` of `argv` with standard input from /dev/null, output and errors to `output`, default signal
    /// handling and an empty signal mask.
    static func spawn(_ argv: [String], environment: [String], output: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else { throw WatchTestError("posix_spawn \(argv[0]): \(String(cString: strerror(rc)))") }
        return pid
    }

    func newSession(width: Int, height: Int, command: String) throws {
        try run(["new-session", "-d", "-s", "watch", "-x", String(width), "-y", String(height), command])
    }

    func capture() throws -> String { try run(["capture-pane", "-p", "-t", "watch"]) }

    func sendKeys(_ keys: String) throws { try run(["send-keys", "-t", "watch", keys]) }

    /// Polls the screen every 200 ms until `done` holds; throws with the last screen after `seconds`.
    func waitForScreen(seconds: Double, _ done: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(seconds)
        var screen = ""
        while Date() < deadline {
            screen = try capture()
            if done(screen) { return screen }
            usleep(200_000)
        }
        Issue.record("the screen did not show what was expected within \(Int(seconds)) s:\n\(screen)")
        throw WatchTestError("timed out")
    }

    func killServer() { _ = try? run(["kill-server"]) }
}
