#include "formats/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace fathom::formats {
namespace fs = std::filesystem;

namespace {

Result<std::map<std::string, std::string>> read_index(const fs::path& index_path) {
  std::ifstream in(index_path);
  if (!in) return not_found(index_path.string() + ": cannot open");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    return data_loss(index_path.string() + ": not valid JSON: " + e.what());
  }
  auto wm = j.find("weight_map");
  if (!j.is_object() || wm == j.end() || !wm->is_object())
    return data_loss(index_path.string() + ": missing object field 'weight_map'");
  std::map<std::string, std::string> out;
  for (auto it = wm->begin(); it != wm->end(); ++it) {
    if (!it->is_string())
      return data_loss(index_path.string() + ": weight_map['" + it.key() + "'] is not a string");
    const std::string file = it->get<std::string>();
    if (file.find('/') != std::string::npos || file == "..")
      return data_loss(index_path.string() + ": shard name '" + file + "' must be a plain file name");
    out[it.key()] = file;
  }
  return out;
}

}  // namespace

Result<Checkpoint> Checkpoint::open(const std::string& model_dir) {
  Checkpoint ck;
  ck.dir_ = model_dir;
  const fs::path dir(model_dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return not_found(model_dir + ": not a directory");

  std::vector<std::string> shard_files;
  std::map<std::string, std::string> index;
  const fs::path index_path = dir / "model.safetensors.index.json";
  if (fs::exists(index_path, ec)) {
    FATHOM_ASSIGN_OR_RETURN(index, read_index(index_path));
    std::set<std::string> uniq;
    for (const auto& [name, file] : index) uniq.insert(file);
    shard_files.assign(uniq.begin(), uniq.end());
  } else if (fs::exists(dir / "model.safetensors", ec)) {
    shard_files.push_back("model.safetensors");
  } else {
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".safetensors") shard_files.push_back(e.path().filename());
    std::sort(shard_files.begin(), shard_files.end());
  }
  if (shard_files.empty())
    return not_found(model_dir + ": no model.safetensors, model.safetensors.index.json or "
                     "*.safetensors file");

  // Open every shard and report every failure at once.
  std::vector<std::string> problems;
  ck.files_.reserve(shard_files.size());
  for (const auto& name : shard_files) {
    auto f = SafetensorsFile::open((dir / name).string());
    if (!f.ok()) {
      problems.push_back(f.status().message());
      continue;
    }
    ck.files_.push_back(std::move(*f));
  }
  for (const auto& f : ck.files_) {
    for (const auto& t : f.tensors()) {
      auto [it, inserted] = ck.by_name_.emplace(t.name, &t);
      if (!inserted)
        problems.push_back("tensor '" + t.name + "' appears in both " + it->second->file +
                           " and " + t.file);
    }
  }
  for (const auto& [name, file] : index) {
    auto it = ck.by_name_.find(name);
    if (it == ck.by_name_.end()) {
      problems.push_back("model.safetensors.index.json maps '" + name + "' to " + file +
                         " but that file does not contain it");
    } else if (fs::path(it->second->file).filename() != file) {
      problems.push_back("model.safetensors.index.json maps '" + name + "' to " + file +
                         " but it is in " + it->second->file);
    }
  }
  if (!problems.empty()) {
    std::string msg = model_dir + ": cannot load checkpoint:";
    for (const auto& p : problems) msg += "\n  " + p;
    return data_loss(msg);
  }
  return ck;
}

Result<Checkpoint> Checkpoint::from_views(std::string source, std::vector<TensorView> views,
                                          std::shared_ptr<const void> owner,
                                          std::vector<const MappedFile*> mapped) {
  Checkpoint ck;
  ck.dir_ = std::move(source);
  ck.views_ = std::move(views);
  ck.owner_ = std::move(owner);
  ck.mapped_ = std::move(mapped);
  for (const TensorView& t : ck.views_)
    if (!ck.by_name_.emplace(t.name, &t).second)
      return data_loss(ck.dir_ + ": tensor '" + t.name + "' appears twice");
  return ck;
}

const TensorView* Checkpoint::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(by_name_.size());
  for (const auto& [k, v] : by_name_) out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

Status Checkpoint::prefault() const {
  for (const SafetensorsFile& f : files_) FATHOM_RETURN_IF_ERROR(f.prefault());
  for (const MappedFile* f : mapped_) FATHOM_RETURN_IF_ERROR(f->prefault());
  return Status();
}

Status Checkpoint::copy_to_huge_pages(const std::atomic<bool>* stop) const {
  for (const MappedFile* f : mapped_files()) FATHOM_RETURN_IF_ERROR(f->copy_to_huge_pages(stop));
  return Status();
}

std::vector<const MappedFile*> Checkpoint::mapped_files() const {
  std::vector<const MappedFile*> out;
  for (const SafetensorsFile& f : files_) out.push_back(&f.file());
  out.insert(out.end(), mapped_.begin(), mapped_.end());
  return out;
}

}  // namespace fathom::formats
