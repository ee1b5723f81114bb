// Bad checkpoints and configs give clear errors that name the file, the tensor and both
// shapes, all problems at once; never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "formats/safetensors.h"
#include "model/model.h"
#include "support/reference.h"
#include "support/temp_dir.h"

namespace fathom::model {
namespace {

namespace fs = std::filesystem;
using fathom::testing::fixture_dir;
using fathom::testing::read_bytes;
using fathom::testing::TempDir;
using fathom::testing::write_text;

// Copies a fixture's config.json and rewrites its weights through `edit`.
void copy_fixture(const std::string& name, const std::string& dst,
                  const std::function<void(std::vector<formats::OwnedTensor>&)>& edit) {
  fs::copy_file(fixture_dir(name) + "/config.json", dst + "/config.json");
  auto src = formats::SafetensorsFile::open(fixture_dir(name) + "/model.safetensors");
  ASSERT_TRUE(src.ok());
  std::vector<formats::OwnedTensor> tensors;
  for (const auto& t : src->tensors())
    tensors.push_back({t.name, t.dtype, t.shape, std::vector<uint8_t>(t.data, t.data + t.size_bytes)});
  edit(tensors);
  ASSERT_TRUE(formats::write_safetensors(dst + "/model.safetensors", tensors).ok());
}

void edit_config(const std::string& dir, const std::function<void(nlohmann::json&)>& edit) {
  auto j = nlohmann::json::parse(read_bytes(dir + "/config.json"));
  edit(j);
  write_text(dir + "/config.json", j.dump(2));
}

TEST(LoaderErrorsTest, MissingAndMisShapedTensorsAreAllListed) {
  TempDir dir;
  copy_fixture("llama", dir.path(), [](auto& ts) {
    std::erase_if(ts, [](const auto& t) { return t.name == "model.layers.1.self_attn.k_proj.weight"; });
    for (auto& t : ts) {
      if (t.name == "model.layers.0.mlp.up_proj.weight") {  // [160, 64] -> [80, 128], same bytes
        t.shape = {80, 128};
      }
    }
  });
  auto m = load_model(dir.path());
  ASSERT_FALSE(m.ok());
  const std::string& msg = m.status().message();
  EXPECT_NE(msg.find("model.layers.1.self_attn.k_proj"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.layers.0.mlp.up_proj.weight: shape [80, 128] expected [160, 64]"),
            std::string::npos) << msg;
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
}

TEST(LoaderErrorsTest, WrongDtypeIsNamed) {
  TempDir dir;
  copy_fixture("qwen2", dir.path(), [](auto& ts) {
    for (auto& t : ts)
      if (t.name == "model.norm.weight") t.dtype = DType::kI16;  // same size, not a float
  });
  auto m = load_model(dir.path());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("model.norm.weight: dtype I16"), std::string::npos)
      << m.status().message();
}

TEST(LoaderErrorsTest, TruncatedWeightsFileIsDataLoss) {
  TempDir dir;
  fs::copy_file(fixture_dir("deepseek_v3") + "/config.json", dir.file("config.json"));
  const std::string bytes = read_bytes(fixture_dir("deepseek_v3") + "/model.safetensors");
  write_text(dir.file("model.safetensors"), bytes.substr(0, bytes.size() / 2));
  auto m = load_model(dir.path());
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kDataLoss);
  EXPECT_NE(m.status().message().find("truncated"), std::string::npos) << m.status().message();
}

TEST(LoaderErrorsTest, UnknownArchitectureAndBadFieldsAreAllReported) {
  TempDir dir;
  copy_fixture("llama", dir.path(), [](auto&) {});
  edit_config(dir.path(), [](nlohmann::json& j) {
    j["architectures"] = {"MambaForCausalLM"};
    j["hidden_size"] = "sixty-four";
    j.erase("num_hidden_layers");
  });
  auto m = load_model(dir.path());
  ASSERT_FALSE(m.ok());
  const std::string& msg = m.status().message();
  EXPECT_EQ(m.status().code(), Code::kInvalidArgument);
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("architecture 'MambaForCausalLM' is not supported"), std::string::npos) << msg;
  EXPECT_NE(msg.find("hidden_size must be an integer"), std::string::npos) << msg;
  EXPECT_NE(msg.find("num_hidden_layers is required"), std::string::npos) << msg;
}

TEST(LoaderErrorsTest, ConfigThatDisagreesWithTheWeightsNamesBothShapes) {
  TempDir dir;
  copy_fixture("deepseek_v2", dir.path(), [](auto&) {});
  edit_config(dir.path(), [](nlohmann::json& j) { j["kv_lora_rank"] = 48; });
  auto m = load_model(dir.path());
  ASSERT_FALSE(m.ok());
  const std::string& msg = m.status().message();
  EXPECT_NE(msg.find("model.layers.0.self_attn.kv_a_proj_with_mqa.weight: shape [40, 64] expected [56, 64]"),
            std::string::npos) << msg;
  EXPECT_NE(msg.find("kv_a_layernorm.weight: shape [32] expected [48]"), std::string::npos) << msg;
}

TEST(LoaderErrorsTest, MultiTokenPredictionLayersAreSkippedNotAnError) {
  TempDir dir;
  copy_fixture("deepseek_v3", dir.path(), [](auto& ts) {
    std::vector<formats::OwnedTensor> mtp;
    for (const auto& t : ts) {
      const std::string p = "model.layers.2.";
      if (t.name.rfind(p, 0) == 0) {
        auto copy = t;
        copy.name = "model.layers.3." + t.name.substr(p.size());
        mtp.push_back(std::move(copy));
      }
    }
    ts.insert(ts.end(), mtp.begin(), mtp.end());
  });
  edit_config(dir.path(), [](nlohmann::json& j) { j["num_nextn_predict_layers"] = 1; });
  auto m = load_model(dir.path());
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  EXPECT_EQ((*m)->config().num_layers, 3);
}

TEST(LoaderErrorsTest, MissingFolderAndConfigAreNotFound) {
  auto m = load_model("/nonexistent/fathom-model");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), Code::kNotFound);
  EXPECT_NE(m.status().message().find("config.json"), std::string::npos);
}

TEST(LoaderErrorsTest, BadForwardBatchIsAnErrorNotACrash) {
  auto m = load_model(fixture_dir("llama"));
  ASSERT_TRUE(m.ok());
  auto kv = runtime::KvStorage::allocate((*m)->kv_layout(), 2, 4);
  ASSERT_TRUE(kv.ok());
  ForwardBatch b;
  b.token_ids = {5, 99999};
  b.positions = {0, 1};
  b.seq_idx = {0, 0};
  b.block_tables = {{0}};
  b.output_rows = {1};
  std::vector<float> logits;
  Status s = (*m)->forward(b, *kv, logits);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("99999"), std::string::npos);
  b.token_ids = {5, 6};
  b.positions = {0, 9};  // beyond the single 4-slot block
  s = (*m)->forward(b, *kv, logits);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  b.positions = {0, 1};
  b.block_tables = {{7}};  // block id beyond the storage
  EXPECT_EQ((*m)->forward(b, *kv, logits).code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace fathom::model
