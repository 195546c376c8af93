import Foundation
import Testing
import TocsinCore
import TocsinWatch

/// The screen: what each row shows, that every line fits the window, colours only when asked, the banner, the
/// status line and the scrolling of long tables.
@Suite struct WatchRendererTests {
    static let ansi = try! NSRegularExpression(pattern: "\u{1B}\\[[0-9;?]*[A-Za-z]")

    /// A line without its ANSI codes.
    static func plain(_ line: String) -> String {
        ansi.stringByReplacingMatches(in: line, range: NSRange(line.startIndex..., in: line), withTemplate: "")
    }

    /// Columns a plain line takes (CJK characters take two).
    static func columns(_ line: String) -> Int {
        plain(line).unicodeScalars.reduce(0) { $0 + (($1.value >= 0x4E00 && $1.value <= 0x9FFF) ? 2 : 1) }
    }

    /// A board with a red escalated warning acknowledged by the city, a yellow one nobody acknowledged, a blue
    /// one, an overdue task and a ready one.
    static func board() throws -> WatchBoard {
        var b = Feed.board(at: 0, scope: WatchScope(status: .exercise, level: nil, area: AreaPath(unchecked: "sz.futian")))
        let bodies = [
            Feed.warning("w-7", seq: 7, incident: "inc-1", tier: .i, event: "fire", area: "sz.futian.lianhua", level: .city,
                         owner: "sz", msgType: "update", sent: 0, escalated: true, acknowledgedBy: "sz"),
            Feed.warning("w-3", seq: 3, incident: "inc-2", tier: .iii, event: "flood", sent: 200),
            Feed.warning("w-4", seq: 4, incident: "inc-3", tier: .iv, event: "traffic_accident", area: "sz.futian.meilin",
                         level: .street, owner: "sz.futian.meilin", sent: 290),
            Feed.task("verify_site", seq: 5, incident: "inc-2", state: .overdue, due: 120, escalated: true),
            Feed.task("report_district", seq: 6, incident: "inc-2", state: .acknowledged, due: 1800, by: "sz.futian",
                      action: "Phone the district emergency office (事故信息 30 分钟内电话报告)."),
        ]
        // As a `since` reply delivers them: everything up to seq 7 is covered, no gap.
        for prefix in b.scope.prefixes {
            try b.applySince(prefix: prefix, after: 0, reply: Feed.since(bodies.filter { Feed.topic($0).hasPrefix(prefix) }, last: 7))
        }
        return b
    }

    @Test func rowsShowTierEventAreaOwnerAgeEscalationAndAcknowledgement() throws {
        let b = try Self.board()
        let lines = WatchRenderer(width: 200, height: 40, colour: false).render(b, status: WatchStatus(), now: Feed.time(300))
        let red = try #require(lines.first { $0.contains("w-7") })
        for part in ["I red", "fire", "sz.futian.lianhua", "city", "^ESC", "5m00s", "w-7"] {
            #expect(red.contains(part), "\(part) in \(red)")
        }
        let header = try #require(lines.first { $0.contains("ACK BY") })
        #expect(Screen.cell(red, under: "ACK BY", in: header) == "sz")  // acknowledged by the city
        let yellow = try #require(lines.first { $0.contains("w-3") })
        for part in ["III yellow", "flood", "sz.futian.shatou", "district", "sz.futian", "1m40s"] {
            #expect(yellow.contains(part), "\(part) in \(yellow)")
        }
        #expect(Screen.cell(yellow, under: "ACK BY", in: header) == "-")
        #expect(!yellow.contains("^ESC"))
        let blue = try #require(lines.first { $0.contains("w-4") })
        #expect(blue.contains("IV blue") && blue.contains("10s"))
        // Red first, then yellow, then blue; warnings above tasks.
        let order = ["w-7", "w-3", "w-4", "verify_site", "report_district"].compactMap { id in lines.firstIndex { $0.contains(id) } }
        #expect(order == order.sorted() && order.count == 5)
        let overdue = try #require(lines.first { $0.contains("verify_site") })
        #expect(overdue.contains("overdue") && overdue.contains("late 3m00s") && overdue.contains("^ESC"))
        let acknowledged = try #require(lines.first { $0.contains("report_district") })
        #expect(acknowledged.contains("acknowledged") && acknowledged.contains("in 25m00s") && acknowledged.contains("sz.futian"))
        #expect(acknowledged.contains("III yellow"))  // the tier of its incident
        #expect(lines.contains { $0.hasPrefix("Warnings: 3") })
        #expect(lines.contains { $0.hasPrefix("Tasks: 2") })
    }

    @Test(arguments: [40, 60, 80, 100, 132, 160, 250])
    func everyLineFitsTheWidth(width: Int) throws {
        let b = try Self.board()
        for colour in [false, true] {
            let lines = WatchRenderer(width: width, height: 30, colour: colour).render(
                b, status: WatchStatus(connection: .noReply(seconds: 12), message: String(repeating: "x", count: 300), messageIsError: true),
                now: Feed.time(300))
            #expect(lines.count == 30)
            for line in lines { #expect(Self.columns(line) <= width, "\(Self.columns(line)) > \(width): \(Self.plain(line))") }
            // Narrow windows drop the id, level, owner and headline before the essentials.
            guard width >= 60 else { continue }
            let red = try #require(lines.first { Self.plain($0).contains("fire") })
            #expect(Self.plain(red).contains("I red"))
            if width >= 80 { #expect(Self.plain(red).contains("sz.futian.lianhua")) }
        }
    }

    @Test func coloursOnlyWhenAskedAndTierColoursAreTheContracts() throws {
        let b = try Self.board()
        let plain = WatchRenderer(width: 160, height: 30, colour: false).render(b, status: WatchStatus(), now: Feed.time(300))
        #expect(!plain.joined().contains("\u{1B}"))
        let lines = WatchRenderer(width: 160, height: 30, colour: true).render(b, status: WatchStatus(), now: Feed.time(300))
        let text = lines.joined(separator: "\n")
        #expect(text.contains("\u{1B}[1;97;41;7mI red"))  // red background, reversed: the selected row
        #expect(text.contains("\u{1B}[1;30;43mIII yellow"))
        #expect(text.contains("\u{1B}[1;97;44mIV blue"))
        // The selected row (the first) is in reverse video.
        let selected = try #require(lines.first { $0.contains("w-7") })
        #expect(selected.contains(";7m") && Self.plain(selected).hasPrefix(">"))
        // Orange is a 256-colour background.
        var orange = Feed.board(at: 0)
        _ = try orange.receive(frames: Feed.frames(Feed.warning("w-1", seq: 1, incident: "inc-9", tier: .ii, level: .district)))
        let o = WatchRenderer(width: 160, height: 20, colour: true).render(orange, status: WatchStatus(), now: Feed.time(0))
        #expect(o.joined().contains("\u{1B}[1;30;48;5;208;7mII orange"))
    }

    @Test func theExerciseBannerShowsOnlyForDrillTraffic() {
        let drill = WatchRenderer(width: 100, height: 20, colour: false)
            .render(Feed.board(at: 0), status: WatchStatus(), now: Feed.time(0))
        #expect(drill[0].contains("EXERCISE - drill traffic only"))
        let actual = WatchRenderer(width: 100, height: 20, colour: false).render(
            Feed.board(at: 0, scope: WatchScope(status: .actual, level: .city, area: AreaPath(unchecked: "sz"))),
            status: WatchStatus(), now: Feed.time(0))
        #expect(!actual.joined().contains("EXERCISE"))
        #expect(actual[0].hasPrefix("tocsin watch  actual  city sz"))
        #expect(actual.contains { $0.contains("no open warnings") })
        #expect(actual.contains { $0.contains("no open tasks") })
    }

    @Test func theStatusLineShowsSeqConnectionProblemsAndTheLastAction() throws {
        var b = try Self.board()
        _ = try? b.receive(frames: [Array("exercise/warning/city/sz.futian.".utf8)])
        let r = WatchRenderer(width: 220, height: 30, colour: false)
        var lines = r.render(b, status: WatchStatus(connection: .connected, message: "w-3 acknowledged by sz.futian"), now: Feed.time(300))
        let status = lines[lines.count - 2]
        #expect(status.hasPrefix("feed seq 7 | connected | w-3 acknowledged by sz.futian | 1 problem, last: feed message with 1 frames"))
        #expect(lines.last == WatchRenderer.keyHelp)
        lines = r.render(b, status: WatchStatus(connection: .noReply(seconds: 7), message: "ack w-3 refused: x", messageIsError: true), now: Feed.time(300))
        #expect(lines[lines.count - 2].contains("no reply from the command endpoint for 7 s | ack w-3 refused: x"))
        // The snapshot has no key help and no selection marker, and shows every row.
        let once = WatchRenderer(width: 160, height: nil, colour: false, interactive: false)
            .render(b, status: WatchStatus(connection: .connected), now: Feed.time(300))
        #expect(!once.contains(WatchRenderer.keyHelp))
        #expect(!once.contains { $0.hasPrefix(">") })
        #expect(once.filter { $0.contains("t-inc-2") || $0.contains("verify_site") || $0.contains("report_district") }.count == 2)
    }

    @Test func aShortWindowScrollsEachTableToKeepTheSelectionInView() throws {
        var b = Feed.board(at: 0)
        for i in 1...30 {
            _ = try b.receive(frames: Feed.frames(Feed.warning("w-\(i)", seq: i, incident: "inc-\(i)", sent: Double(i))))
        }
        for i in 31...40 { _ = try b.receive(frames: Feed.frames(Feed.task("step\(i)", seq: i, incident: "inc-1", due: Double(i)))) }
        let r = WatchRenderer(width: 120, height: 20, colour: false)
        var lines = r.render(b, status: WatchStatus(), now: Feed.time(60))
        #expect(lines.count == 20)
        #expect(lines.contains { $0.hasPrefix("Warnings: 30 (1-") })
        #expect(lines.contains { $0.hasPrefix("Tasks: 10 (1-") })
        #expect(lines.contains { $0.hasPrefix(">") && $0.contains("w-30") })  // newest first, selected
        b.moveSelection(by: 25)  // down to the 26th warning: w-5
        lines = r.render(b, status: WatchStatus(), now: Feed.time(60))
        let selected = try #require(lines.first { $0.hasPrefix(">") })
        #expect(selected.contains("w-5 "))
        #expect(!lines.contains { $0.contains("w-30 ") })  // scrolled past the top
        b.moveSelection(by: 100)  // the last task
        lines = r.render(b, status: WatchStatus(), now: Feed.time(60))
        #expect(lines.contains { $0.hasPrefix(">") && $0.contains("step40") })
    }

    @Test(arguments: [
        (0.0, "0s"), (-5.0, "0s"), (59.9, "59s"), (60.0, "1m00s"), (185.0, "3m05s"), (3600.0, "1h00m"),
        (3725.0, "1h02m"), (90_000.0, "1d01h"),
    ])
    func ageReadsAsTimeSinceSent(seconds: Double, text: String) {
        #expect(WatchRenderer.age(seconds) == text)
    }

    @Test func dueReadsForwardOrLate() {
        #expect(WatchRenderer.due(750) == "in 12m30s")
        #expect(WatchRenderer.due(-185) == "late 3m05s")
    }

    @Test func controlCharactersFromOutsideCannotReachTheTerminal() throws {
        var b = Feed.board(at: 0)
        _ = try b.receive(frames: Feed.frames(Feed.warning("w-1", seq: 1, incident: "inc-1", headline: "evil\u{1B}[2Jheadline\r\n")))
        let lines = WatchRenderer(width: 200, height: 20, colour: false).render(b, status: WatchStatus(), now: Feed.time(0))
        #expect(!lines.joined().contains("\u{1B}"))
        #expect(lines.contains { $0.contains("evil [2Jheadline") })
    }
}
