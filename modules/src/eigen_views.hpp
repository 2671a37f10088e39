// Eigen maps over varscope's MatrixView / ConstMatrixView: no copies. Included
// by implementation units after `module varscope;` (Eigen itself must be in
// their global module fragment); never by interfaces (see TOOLCHAIN: Eigen in
// exported templates breaks importers).
#pragma once

namespace varscope::eigen_views {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapConst = Eigen::Map<const RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using Map = Eigen::Map<RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

inline MapConst eigen(ConstMatrixView m) {
  return MapConst(m.data, m.rows, m.cols, Eigen::OuterStride<>(m.row_stride));
}
inline Map eigen(MatrixView m) { return Map(m.data, m.rows, m.cols, Eigen::OuterStride<>(m.row_stride)); }

}  // namespace varscope::eigen_views
