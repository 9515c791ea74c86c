// The demo's tour (grpcscope-demo-tour, test/support/demo_tour.h) through the
// real grpcscope in front of the standalone echo server, as scripts/demo.sh
// runs them: every step's findings must be raised on /api/findings while that
// step runs (not before), and resolve after it (docs/findings.md: 3 quiet
// evaluations past the rule's window), except
// serialization.unpacked_repeated_field, which is cumulative and stays.
//
// Steps of 6 s here (15 s in the demo) and the steps whose findings read a
// 60 s window first, so that all of them have resolved about 90 s in.
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "admin/admin_client.h"
#include "proxy_fixture.h"

namespace grpcscope::testsupport {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

struct Step {
  std::string line;              // the tour's line as it started
  std::vector<std::string> ids;  // the findings it names
  double start_s = -1;           // seconds since the tour started, as seen by this test
};

class DemoTourTest : public ProxyTest {
 protected:
  void SetUp() override {
    SKIP_IF_DIRECT("reads the proxy's findings");
    SKIP_IF_TLS("the tour and the demo speak h2c");
  }
  void TearDown() override {
    if (tour_ && tour_->running()) tour_->signal(SIGTERM);
    if (tour_) tour_->wait(10s);
    if (HasFailure() && tour_) std::cerr << "---- tour ----\n" << tour_->stdoutText() << tour_->stderrText() << "\n";
    ProxyTest::TearDown();
    if (echo_) {
      echo_->signal(SIGTERM);
      echo_->wait(10s);
    }
  }

  // The standalone echo server with the demo's stream limit.
  void startEcho() {
    std::string error;
    echo_ = ChildProcess::spawn({GRPCSCOPE_ECHO_SERVER, "--listen", "127.0.0.1:0", "--max-concurrent-streams", "100"},
                                {}, &error);
    ASSERT_TRUE(echo_) << error;
    std::string out;
    ASSERT_TRUE(waitFor(
        [&] {
          out = echo_->stdoutText();
          return out.find('\n') != std::string::npos || !echo_->running();
        },
        scaled(10s)))
        << echo_->stderrText();
    const std::string marker = "listening on ";
    size_t at = out.find(marker);
    ASSERT_NE(at, std::string::npos) << out << echo_->stderrText();
    echo_address_ = out.substr(at + marker.size(), out.find('\n', at) - at - marker.size());
  }

  std::string admin() const { return "http://" + adminAddressFrom(proxy_->listeningLine()); }

  std::unique_ptr<ChildProcess> echo_;
  std::string echo_address_;
  std::unique_ptr<ChildProcess> tour_;
};

// The step lines of the tour's output so far: "tour +Ns: WHAT (ID, ID) for 6 s".
std::vector<Step> stepsIn(const std::string& out) {
  static const std::regex line(R"(tour \+\d+s: (.*) \(([a-z_.]+(, [a-z_.]+)*)\) for [0-9.]+ s)");
  std::vector<Step> steps;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    if (!std::regex_match(l, m, line)) continue;
    Step s;
    s.line = l;
    std::istringstream ids(m[2].str());
    for (std::string id; std::getline(ids, id, ',');) s.ids.push_back(id.substr(id.find_first_not_of(' ')));
    steps.push_back(s);
  }
  return steps;
}

TEST_F(DemoTourTest, RaisesItsFindingsOneAfterAnother) {
  ASSERT_NO_FATAL_FAILURE(startEcho());
  ASSERT_NO_FATAL_FAILURE(startProxy({}, echo_address_));
  const std::string order = "keepalive,slow-reader,deadline,compressible,churn,stream-limit,unpacked";
  const double step_s = 6, pause_s = 0.5;
  std::string error;
  tour_ = ChildProcess::spawn({GRPCSCOPE_DEMO_TOUR, "--target", proxy_->address(), "--rounds", "1", "--steps", order,
                               "--step", "6", "--pause", "0.5", "--server-stream-limit", "100"},
                              {}, &error);
  ASSERT_TRUE(tour_) << error;
  const auto t0 = Clock::now();
  auto now_s = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };

  // Poll the tour's lines and /api/findings every 250 ms: when each step was
  // seen starting, when each finding id was first seen active, and when it
  // was first seen resolved after that.
  std::vector<Step> steps;
  std::map<std::string, double> raised, resolved;
  std::set<std::string> others;  // ids active at some point that no step names
  std::set<std::string> tour_ids;
  auto all_resolved = [&] {
    if (steps.size() < 7 || tour_->running()) return false;
    for (const std::string& id : tour_ids) {
      if (id != "serialization.unpacked_repeated_field" && !resolved.count(id)) return false;
    }
    return true;
  };
  waitFor(
      [&] {
        std::vector<Step> seen = stepsIn(tour_->stdoutText());
        for (size_t i = steps.size(); i < seen.size(); ++i) {
          seen[i].start_s = now_s();
          steps.push_back(seen[i]);
          for (const std::string& id : seen[i].ids) tour_ids.insert(id);
        }
        json list = json::parse(httpRequest(admin() + "/api/findings").body, nullptr, false);
        if (!list.is_array()) return false;
        std::map<std::string, bool> active;  // by id: any scope active
        for (const json& f : list) active[f.value("id", "")] |= f.value("active", false);
        for (const auto& [id, on] : active) {
          if (on && !raised.count(id)) raised[id] = now_s();
          if (!on && raised.count(id) && !resolved.count(id)) resolved[id] = now_s();
          if (on && !tour_ids.count(id)) others.insert(id);
        }
        return all_resolved();
      },
      std::min<std::chrono::milliseconds>(scaled(115s), 200s), 250ms);  // windows are wall time, not slowed
  const double total_s = now_s();

  std::cout << "tour output:\n" << tour_->stdoutText() << "timeline (s since the tour started):\n";
  for (const auto& [id, t] : raised) {
    std::cout << "  " << id << " raised " << t << ", resolved "
              << (resolved.count(id) ? std::to_string(resolved[id]) : std::string("-")) << "\n";
  }
  std::cout << "test took " << total_s << " s\n";

  ASSERT_EQ(steps.size(), 7u) << tour_->stdoutText();
  EXPECT_EQ(tour_->wait(scaled(5s)), 0) << tour_->stderrText();
  // Rules run once a second and this test polls every 250 ms: a finding may
  // come a few evaluations after its step ended (more in a sanitized build).
  const double grace_s = 3.0 * slowFactor();
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    const double end_s = s.start_s + step_s;  // as the tour lays it out
    for (const std::string& id : s.ids) {
      ASSERT_TRUE(raised.count(id)) << "step \"" << s.line << "\" never raised " << id;
      EXPECT_GE(raised[id], s.start_s) << id << " was active before its step \"" << s.line << "\"";
      EXPECT_LE(raised[id], end_s + pause_s + grace_s) << id << " came late for its step \"" << s.line << "\"";
      if (id == "serialization.unpacked_repeated_field") {
        EXPECT_FALSE(resolved.count(id)) << id << " is cumulative: it stays";
        continue;
      }
      ASSERT_TRUE(resolved.count(id)) << id << " never resolved (raised at " << raised[id] << " s)";
      EXPECT_GT(resolved[id], raised[id]);
    }
  }
  // Windows of 10 s and live connections: resolved soon after their step.
  auto step_of = [&](const std::string& id) {
    for (const Step& s : steps) {
      for (const std::string& x : s.ids) {
        if (x == id) return s;
      }
    }
    return Step{};
  };
  for (const char* id : {"connection.churn", "connection.max_concurrent_streams_saturated"}) {
    EXPECT_LE(resolved[id], step_of(id).start_s + step_s + 15 + grace_s) << id << " lingered";
  }
  // The prediction resolves once the refused connection is gone, before the step is over.
  EXPECT_LE(resolved["keepalive.ping_strikes_predicted"],
            step_of("keepalive.ping_strikes_predicted").start_s + step_s + grace_s);
  EXPECT_LT(raised["keepalive.ping_strikes_predicted"], raised["keepalive.too_many_pings"]);
  for (const std::string& id : others) std::cout << "also raised (not a tour finding): " << id << "\n";
}

}  // namespace
}  // namespace grpcscope::testsupport
