import Testing
import TocsinConfig
import TocsinCore

/// The `http` section: where the server listens and who may use it.
@Suite struct HTTPConfigTests {
    func load(_ http: String) throws(ConfigError) -> TocsinConfiguration {
        try ConfigLoader.load(main: Base.main + "\n" + http, areas: Base.areas, catalog: Base.catalog)
    }

    func problems(_ http: String) -> [String] {
        do {
            _ = try load(http)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test func defaultsAndAValidSection() throws {
        let plain = try ConfigLoader.load(main: Base.main, areas: Base.areas, catalog: Base.catalog)
        #expect(plain.http == HTTPConfig(enabled: true, host: "127.0.0.1", port: 7780, operators: []))
        let config = try load("""
            http:
              listen: 0.0.0.0:8080
              operators:
                - {name: futian-duty, token: 0123456789abcdef0123, area: sz.futian}
                - {name: city-duty, token: fedcba9876543210fedc, area: sz}
            """)
        #expect(config.http.host == "0.0.0.0" && config.http.port == 8080 && config.http.enabled)
        #expect(config.http.operators.map(\.name) == ["futian-duty", "city-duty"])
        #expect(config.http.operators.first?.area == AreaPath("sz.futian"))
        #expect(try load("http: {listen: off}").http.enabled == false)
    }

    @Test(arguments: [
        ("http: {listen: 7780}", "expected HOST:PORT"),
        ("http: {listen: \"localhost:99999\"}", "expected HOST:PORT"),
        ("http: {port: 7780}", "unknown key"),
        ("http: {operators: [{name: a, token: short, area: sz}]}", "at least 16 printable ASCII"),
        ("http: {operators: [{name: a, token: \"with space 0123456789\", area: sz}]}", "at least 16 printable ASCII"),
        ("http: {operators: [{token: 0123456789abcdef0123, area: sz}]}", "missing key \"name\""),
        ("http: {operators: [{name: a, area: sz}]}", "missing key \"token\""),
        ("http: {operators: [{name: a, token: 0123456789abcdef0123}]}", "missing key \"area\""),
        ("http: {operators: [{name: a, token: 0123456789abcdef0123, area: SZ}]}", "is not an area path"),
        ("http: {operators: [{name: a, token: 0123456789abcdef0123, area: sz.nanshan}]}", "unknown area \"sz.nanshan\""),
        ("http: {operators: [{name: a, token: 0123456789abcdef0123, area: sz}, {name: a, token: 1123456789abcdef0123, area: sz}]}",
         "listed twice"),
        ("http: {operators: [{name: a, token: 0123456789abcdef0123, area: sz}, {name: b, token: 0123456789abcdef0123, area: sz}]}",
         "share this token"),
        ("http: {operators: [{name: a, token: 0123456789abcdef0123, area: sz, role: admin}]}", "unknown key"),
    ])
    func refusesBadSections(_ text: String, _ message: String) {
        let found = problems(text)
        #expect(found.contains { $0.contains(message) }, "got: \(found)")
    }
}
