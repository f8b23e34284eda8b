import DigestAuth
import ModuleAPI
import XCTest

final class DigestAuthTests: XCTestCase {
    /// The digest ZooKeeper's DigestAuthenticationProvider.generateDigest gives for
    /// super:test (a value its documentation and many deployments use).
    func testDigestMatchesZooKeepers() {
        let ids = DigestAuthProvider().authenticate(Array("super:test".utf8), remoteHost: "127.0.0.1")
        XCTAssertEqual(ids, ["super:D/InIHSb7yEEbrWz8b9l71RjZJU="])
    }

    func testAuthWithoutAColonIsAUserNamedByTheWholeString() {
        let ids = DigestAuthProvider().authenticate(Array("nocolon".utf8), remoteHost: "h")
        XCTAssertEqual(ids?.first?.hasPrefix("nocolon:"), true)
    }

    func testUserNameIsThePartBeforeTheColon() {
        XCTAssertEqual(DigestAuthProvider().userName(for: "alice:abc="), "alice")
        XCTAssertTrue(DigestAuthProvider().isValid(expression: "alice:abc="))
        XCTAssertFalse(DigestAuthProvider().isValid(expression: "alice"))
        XCTAssertFalse(DigestAuthProvider().isValid(expression: "alice:"), "Java's split drops the empty tail")
        XCTAssertTrue(DigestAuthProvider().isValid(expression: ":hash"))
    }
}
