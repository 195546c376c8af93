import Foundation
import TocsinConfig
import TocsinCore

/// What every harness shares: the repository's shipped configuration (the context real input is checked against)
/// and a way to stop on a broken invariant, which libFuzzer records as a crash with the input that caused it.
public enum FuzzSupport {
    /// The repository root, found from this source file's place (`Fuzz/Sources/FuzzSupport/`).
    public static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `Config/tocsin.yaml` with its areas, catalog and plans, loaded once. Without it no harness means anything.
    public static let shipped: TocsinConfiguration = {
        do {
            return try ConfigLoader.load(path: repositoryRoot + "/Config/tocsin.yaml")
        } catch {
            violated("the shipped configuration does not load: \(error)")
        }
    }()

    /// The text of a shipped file, relative to the repository root.
    public static func shippedText(_ relativePath: String) -> String {
        guard let data = FileManager.default.contents(atPath: repositoryRoot + "/" + relativePath),
            let text = String(data: data, encoding: .utf8)
        else { violated("cannot read \(relativePath)") }
        return text
    }

    /// The input as text when it is UTF-8 (the file loaders refuse anything else with "not UTF-8 text").
    public static func utf8Text(_ data: UnsafePointer<UInt8>?, _ size: Int) -> String? {
        guard let data, size > 0 else { return "" }
        return String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    }

    /// The fuzz input as bytes.
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Stops the run: an invariant of the code under test does not hold for this input.
    public static func violated(_ message: String) -> Never {
        fatalError("fuzz invariant violated: \(message)")
    }

    /// True when no number anywhere in `value` is infinite (a JSON number too large for a `Double` parses to
    /// infinity and is written back as `null`, so only finite documents round-trip exactly).
    public static func allNumbersFinite(_ value: JSONValue) -> Bool {
        switch value {
        case .number(let x): x.isFinite
        case .array(let a): a.allSatisfy(allNumbersFinite)
        case .object(let o): o.members.allSatisfy { allNumbersFinite($0.value) }
        case .null, .bool, .string: true
        }
    }
}
